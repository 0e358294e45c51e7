<?php
declare(strict_types=1);

namespace WalmartSync\Marketplace\Logic;

/**
 * What a successful placement made: the order, its totals, and the Walmart line -> order item map.
 */
final class PlacedOrder
{
    /**
     * @param array<string, float> $totals subtotal, shipping_amount, tax_amount, grand_total
     */
    public function __construct(
        public readonly int $orderId,
        public readonly string $incrementId,
        public readonly LineMap $lineMap,
        public readonly array $totals
    ) {
    }
}
