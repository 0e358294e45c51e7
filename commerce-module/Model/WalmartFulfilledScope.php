<?php
declare(strict_types=1);

namespace WalmartSync\Marketplace\Model;

/**
 * Marks the placement of an order Walmart Fulfillment Services ships (shipNode.type WFSFulfilled)
 * while QuoteManagement::submit() runs, for Plugin\SkipStockOfWalmartFulfilledOrders: MSI's
 * AppendReservationsAfterOrderPlacementPlugin::aroundPlace() checks the quantity
 * (CheckItemsQuantity) and places the order_placed reservation before the order has an id, so the
 * order cannot be looked up yet. A shared (singleton) instance; the flag is cleared however submit ends.
 */
class WalmartFulfilledScope
{
    private bool $active = false;

    /**
     * @template T
     * @param callable(): T $placement
     * @return T
     */
    public function run(callable $placement)
    {
        $this->active = true;
        try {
            return $placement();
        } finally {
            $this->active = false;
        }
    }

    public function active(): bool
    {
        return $this->active;
    }
}
