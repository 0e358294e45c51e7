<?php
declare(strict_types=1);

namespace WalmartSync\Marketplace\Model\Data;

use WalmartSync\Marketplace\Api\Data\ModuleStatusInterface;

/**
 * Plain implementation of ModuleStatusInterface (di.xml preference).
 */
class ModuleStatus implements ModuleStatusInterface
{
    /** @var string|null */
    private $module = null;

    /** @var string|null */
    private $version = null;

    /** @var string[] */
    private $capabilities = [];

    /** @var string|null */
    private $paymentMethod = null;

    /** @var string|null */
    private $carrierCode = null;

    /** @var string|null */
    private $magentoVersion = null;

    /** @var string|null */
    private $magentoEdition = null;

    /** @var bool */
    private $cartAmountsEnabled = false;

    public function getModule()
    {
        return $this->module;
    }

    public function setModule($module)
    {
        $this->module = $module === null ? null : (string)$module;
        return $this;
    }

    public function getVersion()
    {
        return $this->version;
    }

    public function setVersion($version)
    {
        $this->version = $version === null ? null : (string)$version;
        return $this;
    }

    public function getCapabilities()
    {
        return $this->capabilities;
    }

    public function setCapabilities($capabilities)
    {
        $this->capabilities = $capabilities === null ? [] : array_values((array)$capabilities);
        return $this;
    }

    public function getPaymentMethod()
    {
        return $this->paymentMethod;
    }

    public function setPaymentMethod($paymentMethod)
    {
        $this->paymentMethod = $paymentMethod === null ? null : (string)$paymentMethod;
        return $this;
    }

    public function getCarrierCode()
    {
        return $this->carrierCode;
    }

    public function setCarrierCode($carrierCode)
    {
        $this->carrierCode = $carrierCode === null ? null : (string)$carrierCode;
        return $this;
    }

    public function getMagentoVersion()
    {
        return $this->magentoVersion;
    }

    public function setMagentoVersion($magentoVersion)
    {
        $this->magentoVersion = $magentoVersion === null ? null : (string)$magentoVersion;
        return $this;
    }

    public function getMagentoEdition()
    {
        return $this->magentoEdition;
    }

    public function setMagentoEdition($magentoEdition)
    {
        $this->magentoEdition = $magentoEdition === null ? null : (string)$magentoEdition;
        return $this;
    }

    public function getCartAmountsEnabled()
    {
        return $this->cartAmountsEnabled;
    }

    public function setCartAmountsEnabled($cartAmountsEnabled)
    {
        $this->cartAmountsEnabled = (bool)$cartAmountsEnabled;
        return $this;
    }
}
