<?php
declare(strict_types=1);

namespace WalmartSync\Marketplace\Plugin;

use Magento\InventorySalesApi\Api\Data\SalesChannelInterface;
use Magento\InventorySalesApi\Api\Data\SalesEventInterface;
use Magento\InventorySalesApi\Api\PlaceReservationsForSalesEventInterface;
use WalmartSync\Marketplace\Model\ClaimStore;
use WalmartSync\Marketplace\Model\WalmartFulfilledScope;

/**
 * A WFS order reserves no Commerce stock: its order_placed reservation is skipped while it is placed
 * (WalmartFulfilledScope: MSI places it before the order has an id), and every later sales event of
 * the order (order_canceled, shipment_created, creditmemo_created compensations) is skipped too,
 * found by the order id its claim row holds: compensating a reservation never made would raise the
 * salable quantity of stock Commerce does not have.
 * Not verified on a live Magento (docs/orders.md, "Not run against a live Magento").
 */
class SkipReservationsOfWalmartFulfilledOrders
{
    public function __construct(
        private readonly WalmartFulfilledScope $scope,
        private readonly ClaimStore $claims
    ) {
    }

    /**
     * @param \Magento\InventorySalesApi\Api\Data\ItemToSellInterface[] $items
     */
    public function aroundExecute(
        PlaceReservationsForSalesEventInterface $subject,
        callable $proceed,
        array $items,
        SalesChannelInterface $salesChannel,
        SalesEventInterface $salesEvent
    ): void {
        if ($this->scope->active()
            || ($salesEvent->getObjectType() === SalesEventInterface::OBJECT_TYPE_ORDER
                && $this->claims->isWalmartFulfilledOrder((int)$salesEvent->getObjectId()))) {
            return;
        }
        $proceed($items, $salesChannel, $salesEvent);
    }
}
