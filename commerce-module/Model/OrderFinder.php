<?php
declare(strict_types=1);

namespace WalmartSync\Marketplace\Model;

use Magento\Framework\App\ResourceConnection;

/**
 * The order Magento has for a purchase order, whatever our claim says: sales_order.ext_order_id is
 * set by the placement itself (QuoteManagement::submit($quote, ['ext_order_id' => ...]) copies it
 * onto the order through Quote\Address\ToOrder), and sales_order.quote_id is the quote the claim
 * recorded before submitting. Used for stale claims and after an exception from submit().
 */
class OrderFinder
{
    public function __construct(private readonly ResourceConnection $resource)
    {
    }

    public function find(string $purchaseOrderId, ?int $quoteId): ?int
    {
        $connection = $this->resource->getConnection('sales');
        $select = $connection->select()
            ->from($this->resource->getTableName('sales_order', 'sales'), ['entity_id'])
            ->where('ext_order_id = ?', $purchaseOrderId)
            ->order('entity_id ASC')
            ->limit(1);
        if ($quoteId !== null) {
            $select->orWhere('quote_id = ?', $quoteId);
        }
        $id = $connection->fetchOne($select);
        return $id === false || $id === null ? null : (int)$id;
    }

    /**
     * @return array<int, int> quote_item_id => sales_order_item.item_id of an order's items
     */
    public function orderItemsByQuoteItem(int $orderId): array
    {
        $connection = $this->resource->getConnection('sales');
        $rows = $connection->fetchPairs($connection->select()
            ->from($this->resource->getTableName('sales_order_item', 'sales'), ['quote_item_id', 'item_id'])
            ->where('order_id = ?', $orderId)
            ->where('parent_item_id IS NULL')
            ->where('quote_item_id IS NOT NULL'));
        $map = [];
        foreach ($rows as $quoteItemId => $itemId) {
            $map[(int)$quoteItemId] = (int)$itemId;
        }
        return $map;
    }
}
