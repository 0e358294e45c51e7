<?php
declare(strict_types=1);

namespace WalmartSync\Marketplace\Model\Data;

use WalmartSync\Marketplace\Api\Data\PlacementResultInterface;

/**
 * Plain implementation of PlacementResultInterface (di.xml preference).
 */
class PlacementResult implements PlacementResultInterface
{
    /** @var string|null */
    private $purchaseOrderId = null;

    /** @var string|null */
    private $state = null;

    /** @var bool */
    private $created = false;

    /** @var bool */
    private $sameRequest = false;

    /** @var int|null */
    private $attempts = null;

    /** @var int|null */
    private $orderId = null;

    /** @var string|null */
    private $incrementId = null;

    /** @var float|null */
    private $subtotal = null;

    /** @var float|null */
    private $shippingAmount = null;

    /** @var float|null */
    private $taxAmount = null;

    /** @var float|null */
    private $grandTotal = null;

    /** @var string|null */
    private $refusalCode = null;

    /** @var string|null */
    private $refusalMessage = null;

    /** @var \WalmartSync\Marketplace\Api\Data\PlacedLineInterface[] */
    private $lines = [];

    public function getPurchaseOrderId()
    {
        return $this->purchaseOrderId;
    }

    public function setPurchaseOrderId($purchaseOrderId)
    {
        $this->purchaseOrderId = $purchaseOrderId === null ? null : (string)$purchaseOrderId;
        return $this;
    }

    public function getState()
    {
        return $this->state;
    }

    public function setState($state)
    {
        $this->state = $state === null ? null : (string)$state;
        return $this;
    }

    public function getCreated()
    {
        return $this->created;
    }

    public function setCreated($created)
    {
        $this->created = (bool)$created;
        return $this;
    }

    public function getSameRequest()
    {
        return $this->sameRequest;
    }

    public function setSameRequest($sameRequest)
    {
        $this->sameRequest = (bool)$sameRequest;
        return $this;
    }

    public function getAttempts()
    {
        return $this->attempts;
    }

    public function setAttempts($attempts)
    {
        $this->attempts = $attempts === null ? null : (int)$attempts;
        return $this;
    }

    public function getOrderId()
    {
        return $this->orderId;
    }

    public function setOrderId($orderId)
    {
        $this->orderId = $orderId === null ? null : (int)$orderId;
        return $this;
    }

    public function getIncrementId()
    {
        return $this->incrementId;
    }

    public function setIncrementId($incrementId)
    {
        $this->incrementId = $incrementId === null ? null : (string)$incrementId;
        return $this;
    }

    public function getSubtotal()
    {
        return $this->subtotal;
    }

    public function setSubtotal($subtotal)
    {
        $this->subtotal = $subtotal === null ? null : (float)$subtotal;
        return $this;
    }

    public function getShippingAmount()
    {
        return $this->shippingAmount;
    }

    public function setShippingAmount($shippingAmount)
    {
        $this->shippingAmount = $shippingAmount === null ? null : (float)$shippingAmount;
        return $this;
    }

    public function getTaxAmount()
    {
        return $this->taxAmount;
    }

    public function setTaxAmount($taxAmount)
    {
        $this->taxAmount = $taxAmount === null ? null : (float)$taxAmount;
        return $this;
    }

    public function getGrandTotal()
    {
        return $this->grandTotal;
    }

    public function setGrandTotal($grandTotal)
    {
        $this->grandTotal = $grandTotal === null ? null : (float)$grandTotal;
        return $this;
    }

    public function getRefusalCode()
    {
        return $this->refusalCode;
    }

    public function setRefusalCode($refusalCode)
    {
        $this->refusalCode = $refusalCode === null ? null : (string)$refusalCode;
        return $this;
    }

    public function getRefusalMessage()
    {
        return $this->refusalMessage;
    }

    public function setRefusalMessage($refusalMessage)
    {
        $this->refusalMessage = $refusalMessage === null ? null : (string)$refusalMessage;
        return $this;
    }

    public function getLines()
    {
        return $this->lines;
    }

    public function setLines($lines)
    {
        $this->lines = $lines === null ? [] : array_values((array)$lines);
        return $this;
    }
}
