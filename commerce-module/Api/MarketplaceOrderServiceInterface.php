<?php
declare(strict_types=1);

namespace WalmartSync\Marketplace\Api;

/**
 * Idempotent placement of Walmart purchase orders (etc/webapi.xml):
 *
 *   POST /V1/walmart-sync/orders                     place()   {"order": {...}}
 *   GET  /V1/walmart-sync/orders/:purchaseOrderId    get()
 *
 * One Commerce order per purchase order, ever: a retried or concurrent call answers with the order
 * already placed (created = false) or HTTP 409 while another call is placing it. Refusals are HTTP 400
 * with a stable parameters.code (README.md, contract.json).
 *
 * @api
 */
interface MarketplaceOrderServiceInterface
{
    /**
     * Place a Walmart purchase order, or return the order already placed for it.
     *
     * @param \WalmartSync\Marketplace\Api\Data\MarketplaceOrderInterface $order
     * @return \WalmartSync\Marketplace\Api\Data\PlacementResultInterface
     * @throws \Magento\Framework\Webapi\Exception refusal (400), placement in progress (409)
     */
    public function place(\WalmartSync\Marketplace\Api\Data\MarketplaceOrderInterface $order);

    /**
     * The placement state and, once placed, the order of a purchase order. Places nothing.
     *
     * @param string $purchaseOrderId
     * @return \WalmartSync\Marketplace\Api\Data\PlacementResultInterface
     * @throws \Magento\Framework\Exception\NoSuchEntityException no call was ever made for it
     */
    public function get($purchaseOrderId);
}
