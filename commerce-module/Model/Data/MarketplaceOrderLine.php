<?php
declare(strict_types=1);

namespace WalmartSync\Marketplace\Model\Data;

use WalmartSync\Marketplace\Api\Data\MarketplaceOrderLineInterface;

/**
 * Plain implementation of MarketplaceOrderLineInterface (di.xml preference).
 */
class MarketplaceOrderLine implements MarketplaceOrderLineInterface
{
    /** @var string|null */
    private $lineNumber = null;

    /** @var string|null */
    private $sku = null;

    /** @var int|null */
    private $qty = null;

    /** @var float|null */
    private $unitPrice = null;

    /** @var float|null */
    private $taxAmount = null;

    /** @var float|null */
    private $shippingAmount = null;

    /** @var float|null */
    private $shippingTaxAmount = null;

    public function getLineNumber()
    {
        return $this->lineNumber;
    }

    public function setLineNumber($lineNumber)
    {
        $this->lineNumber = $lineNumber === null ? null : (string)$lineNumber;
        return $this;
    }

    public function getSku()
    {
        return $this->sku;
    }

    public function setSku($sku)
    {
        $this->sku = $sku === null ? null : (string)$sku;
        return $this;
    }

    public function getQty()
    {
        return $this->qty;
    }

    public function setQty($qty)
    {
        $this->qty = $qty === null ? null : (int)$qty;
        return $this;
    }

    public function getUnitPrice()
    {
        return $this->unitPrice;
    }

    public function setUnitPrice($unitPrice)
    {
        $this->unitPrice = $unitPrice === null ? null : (float)$unitPrice;
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

    public function getShippingAmount()
    {
        return $this->shippingAmount;
    }

    public function setShippingAmount($shippingAmount)
    {
        $this->shippingAmount = $shippingAmount === null ? null : (float)$shippingAmount;
        return $this;
    }

    public function getShippingTaxAmount()
    {
        return $this->shippingTaxAmount;
    }

    public function setShippingTaxAmount($shippingTaxAmount)
    {
        $this->shippingTaxAmount = $shippingTaxAmount === null ? null : (float)$shippingTaxAmount;
        return $this;
    }
}
