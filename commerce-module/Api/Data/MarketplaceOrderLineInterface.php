<?php
declare(strict_types=1);

namespace WalmartSync\Marketplace\Api\Data;

/**
 * One Walmart order line of a marketplace order.
 *
 * Plain PHP on purpose (no Magento parent): Magento\Framework\Webapi\ServiceInputProcessor and
 * ServiceOutputProcessor only need the getters/setters and their docblock types.
 */
interface MarketplaceOrderLineInterface
{
    /**
     * Walmart lineNumber.
     *
     * @return string
     */
    public function getLineNumber();

    /**
     * @param string $lineNumber
     * @return $this
     */
    public function setLineNumber($lineNumber);

    /**
     * Commerce SKU of a simple product.
     *
     * @return string
     */
    public function getSku();

    /**
     * @param string $sku
     * @return $this
     */
    public function setSku($sku);

    /**
     * Quantity to order (the line's quantity still open on Walmart).
     *
     * @return int
     */
    public function getQty();

    /**
     * @param int $qty
     * @return $this
     */
    public function setQty($qty);

    /**
     * Walmart's unit price (PRODUCT charge / quantity), becomes the item's custom price.
     *
     * @return float
     */
    public function getUnitPrice();

    /**
     * @param float $unitPrice
     * @return $this
     */
    public function setUnitPrice($unitPrice);

    /**
     * Walmart's product tax for this quantity of the line.
     *
     * @return float|null
     */
    public function getTaxAmount();

    /**
     * @param float $taxAmount
     * @return $this
     */
    public function setTaxAmount($taxAmount);

    /**
     * Walmart's SHIPPING charge of the line.
     *
     * @return float|null
     */
    public function getShippingAmount();

    /**
     * @param float $shippingAmount
     * @return $this
     */
    public function setShippingAmount($shippingAmount);

    /**
     * Walmart's tax on the line's SHIPPING charge.
     *
     * @return float|null
     */
    public function getShippingTaxAmount();

    /**
     * @param float $shippingTaxAmount
     * @return $this
     */
    public function setShippingTaxAmount($shippingTaxAmount);
}
