<?php
declare(strict_types=1);

namespace WalmartSync\Marketplace\Plugin;

use Magento\InventorySales\Model\CheckItemsQuantity;
use WalmartSync\Marketplace\Model\WalmartFulfilledScope;

/**
 * A WFS order is Walmart's to ship from Walmart's stock: MSI's
 * AppendReservationsAfterOrderPlacementPlugin::aroundPlace() must not refuse it for Commerce's
 * quantity (CheckItemsQuantity) while it is being placed (WalmartFulfilledScope).
 * Not verified on a live Magento (docs/orders.md, "Not run against a live Magento").
 */
class SkipQuantityCheckOfWalmartFulfilledOrders
{
    public function __construct(private readonly WalmartFulfilledScope $scope)
    {
    }

    /**
     * @param array<string, float> $items
     */
    public function aroundExecute(CheckItemsQuantity $subject, callable $proceed, array $items, int $stockId): void
    {
        if ($this->scope->active()) {
            return;
        }
        $proceed($items, $stockId);
    }
}
