<?php
declare(strict_types=1);

namespace WalmartSync\Marketplace\Logic;

use InvalidArgumentException;
use LogicException;

/**
 * Walmart line -> quote item -> order item, as Magento actually made them.
 *
 * Each line becomes its own quote item (lines with the same SKU are kept apart by an item option,
 * see QuotePlacer), QuoteManagement::submit() converts every quote item with ToOrderItem, which
 * copies the quote item id into sales_order_item.quote_item_id. So after placement the map is
 * completed from the order's items, and later (a retried call, a recovered claim) it can be rebuilt
 * from the same column. Stored as JSON in walmart_sync_marketplace_order.line_map.
 */
final class LineMap
{
    /**
     * @param array<string, array{sku:string, qty:int, quote_item_id:?int, order_item_id:?int}> $lines
     *        keyed by Walmart line number
     */
    private function __construct(private readonly array $lines)
    {
    }

    /**
     * @param ValidatedLine[] $lines
     */
    public static function forLines(array $lines): self
    {
        $map = [];
        foreach ($lines as $line) {
            $map[$line->lineNumber] = ['sku' => $line->sku, 'qty' => $line->qty, 'quote_item_id' => null,
                                       'order_item_id' => null];
        }
        return new self($map);
    }

    public static function fromJson(?string $json): self
    {
        if ($json === null || $json === '') {
            return new self([]);
        }
        $data = json_decode($json, true);
        if (!is_array($data)) {
            throw new InvalidArgumentException('line_map is not JSON');
        }
        $map = [];
        foreach ($data as $row) {
            $map[(string)$row['line_number']] = [
                'sku' => (string)$row['sku'],
                'qty' => (int)$row['qty'],
                'quote_item_id' => isset($row['quote_item_id']) ? (int)$row['quote_item_id'] : null,
                'order_item_id' => isset($row['order_item_id']) ? (int)$row['order_item_id'] : null,
            ];
        }
        return new self($map);
    }

    public function toJson(): string
    {
        return (string)json_encode($this->toList(), JSON_UNESCAPED_SLASHES | JSON_UNESCAPED_UNICODE);
    }

    /**
     * @return array<int, array{line_number:string, sku:string, qty:int, quote_item_id:?int, order_item_id:?int}>
     */
    public function toList(): array
    {
        $list = [];
        foreach ($this->lines as $number => $row) {
            $list[] = ['line_number' => (string)$number] + $row;
        }
        return $list;
    }

    /**
     * @param array<string, int> $quoteItemIds line number => quote item id
     */
    public function withQuoteItems(array $quoteItemIds): self
    {
        $lines = $this->lines;
        $seen = [];
        foreach ($lines as $number => $row) {
            $id = $quoteItemIds[(string)$number] ?? null;
            if ($id === null) {
                throw new LogicException("line $number has no quote item");
            }
            if (isset($seen[$id])) {
                throw new LogicException("lines {$seen[$id]} and $number share quote item $id; Magento merged them");
            }
            $seen[$id] = (string)$number;
            $lines[$number]['quote_item_id'] = (int)$id;
        }
        return new self($lines);
    }

    /**
     * @param array<int, int> $orderItemIdByQuoteItemId from the order's items (quote_item_id => item_id)
     */
    public function withOrderItems(array $orderItemIdByQuoteItemId): self
    {
        $lines = $this->lines;
        foreach ($lines as $number => $row) {
            $quoteItemId = $row['quote_item_id'];
            if ($quoteItemId === null || !isset($orderItemIdByQuoteItemId[$quoteItemId])) {
                throw new LogicException("line $number: the order has no item for quote item " . ($quoteItemId ?? 'null'));
            }
            $lines[$number]['order_item_id'] = (int)$orderItemIdByQuoteItemId[$quoteItemId];
        }
        return new self($lines);
    }

    public function isComplete(): bool
    {
        if (!$this->lines) {
            return false;
        }
        foreach ($this->lines as $row) {
            if ($row['order_item_id'] === null) {
                return false;
            }
        }
        return true;
    }
}
