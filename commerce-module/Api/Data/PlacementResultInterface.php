<?php
declare(strict_types=1);

namespace WalmartSync\Marketplace\Api\Data;

/**
 * The Commerce order of a Walmart purchase order, or the state of its placement.
 *
 * Plain PHP on purpose (no Magento parent): Magento\Framework\Webapi\ServiceInputProcessor and
 * ServiceOutputProcessor only need the getters/setters and their docblock types.
 */
interface PlacementResultInterface
{
    /**
     * The purchase order this result is for.
     *
     * @return string
     */
    public function getPurchaseOrderId();

    /**
     * placing, placed or failed.
     *
     * @return string
     */
    public function getState();

    /**
     * True when this call placed the order; false when it already existed.
     *
     * @return bool
     */
    public function getCreated();

    /**
     * Whether this call sent what was placed (false: Walmart changed the order since).
     *
     * @return bool
     */
    public function getSameRequest();

    /**
     * How many times placement was started for this purchase order.
     *
     * @return int
     */
    public function getAttempts();

    /**
     * sales_order.entity_id.
     *
     * @return int|null
     */
    public function getOrderId();

    /**
     * sales_order.increment_id (the order number the merchant sees).
     *
     * @return string|null
     */
    public function getIncrementId();

    /**
     * The order's subtotal.
     *
     * @return float|null
     */
    public function getSubtotal();

    /**
     * The order's shipping amount.
     *
     * @return float|null
     */
    public function getShippingAmount();

    /**
     * The order's tax amount (items and shipping).
     *
     * @return float|null
     */
    public function getTaxAmount();

    /**
     * The order's grand total.
     *
     * @return float|null
     */
    public function getGrandTotal();

    /**
     * For a failed placement: the RefusalCode.
     *
     * @return string|null
     */
    public function getRefusalCode();

    /**
     * For a failed placement: Magento's message.
     *
     * @return string|null
     */
    public function getRefusalMessage();

    /**
     * Walmart line -> order item, as Magento made them.
     *
     * @return \WalmartSync\Marketplace\Api\Data\PlacedLineInterface[]
     */
    public function getLines();
}
