<?php
declare(strict_types=1);

namespace WalmartSync\Marketplace\Api\Data;

/**
 * A Walmart line and the order item Magento made of it.
 *
 * Plain PHP on purpose (no Magento parent): Magento\Framework\Webapi\ServiceInputProcessor and
 * ServiceOutputProcessor only need the getters/setters and their docblock types.
 */
interface PlacedLineInterface
{
    /**
     * Walmart lineNumber.
     *
     * @return string
     */
    public function getLineNumber();

    /**
     * SKU ordered.
     *
     * @return string
     */
    public function getSku();

    /**
     * Quantity ordered.
     *
     * @return int
     */
    public function getQty();

    /**
     * quote_item.item_id the line became.
     *
     * @return int|null
     */
    public function getQuoteItemId();

    /**
     * sales_order_item.item_id the line became.
     *
     * @return int|null
     */
    public function getOrderItemId();
}
