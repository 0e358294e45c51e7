<?php
declare(strict_types=1);

namespace WalmartSync\Marketplace\Api\Data;

/**
 * A Walmart purchase order to place in Commerce (POST /V1/walmart-sync/orders, body {"order": {...}}).
 *
 * Plain PHP on purpose (no Magento parent): Magento\Framework\Webapi\ServiceInputProcessor and
 * ServiceOutputProcessor only need the getters/setters and their docblock types.
 */
interface MarketplaceOrderInterface
{
    /**
     * Walmart purchaseOrderId: the idempotency key (one Commerce order per value, ever).
     *
     * @return string
     */
    public function getPurchaseOrderId();

    /**
     * @param string $purchaseOrderId
     * @return $this
     */
    public function setPurchaseOrderId($purchaseOrderId);

    /**
     * Walmart customerOrderId, shown to the merchant.
     *
     * @return string|null
     */
    public function getCustomerOrderId();

    /**
     * @param string $customerOrderId
     * @return $this
     */
    public function setCustomerOrderId($customerOrderId);

    /**
     * Walmart orderDate as ISO-8601 (e.g. 2025-03-01T14:05:00Z).
     *
     * @return string
     */
    public function getOrderDate();

    /**
     * @param string $orderDate
     * @return $this
     */
    public function setOrderDate($orderDate);

    /**
     * Code of the Commerce store view the order belongs to.
     *
     * @return string
     */
    public function getStoreCode();

    /**
     * @param string $storeCode
     * @return $this
     */
    public function setStoreCode($storeCode);

    /**
     * Currency of the amounts; must be the store's base currency when given.
     *
     * @return string|null
     */
    public function getCurrencyCode();

    /**
     * @param string $currencyCode
     * @return $this
     */
    public function setCurrencyCode($currencyCode);

    /**
     * Walmart's relay e-mail for the customer.
     *
     * @return string
     */
    public function getCustomerEmail();

    /**
     * @param string $customerEmail
     * @return $this
     */
    public function setCustomerEmail($customerEmail);

    /**
     * Customer first name.
     *
     * @return string
     */
    public function getCustomerFirstname();

    /**
     * @param string $customerFirstname
     * @return $this
     */
    public function setCustomerFirstname($customerFirstname);

    /**
     * Customer last name.
     *
     * @return string
     */
    public function getCustomerLastname();

    /**
     * @param string $customerLastname
     * @return $this
     */
    public function setCustomerLastname($customerLastname);

    /**
     * Walmart shippingInfo.postalAddress (also used as billing address).
     *
     * @return \WalmartSync\Marketplace\Api\Data\MarketplaceAddressInterface
     */
    public function getShippingAddress();

    /**
     * @param \WalmartSync\Marketplace\Api\Data\MarketplaceAddressInterface $shippingAddress
     * @return $this
     */
    public function setShippingAddress($shippingAddress);

    /**
     * Walmart shippingInfo.methodCode (Value, Standard, Express, OneDay, Freight...).
     *
     * @return string|null
     */
    public function getShipMethod();

    /**
     * @param string $shipMethod
     * @return $this
     */
    public function setShipMethod($shipMethod);

    /**
     * Walmart shippingInfo.estimatedShipDate as ISO-8601.
     *
     * @return string|null
     */
    public function getEstimatedShipDate();

    /**
     * @param string $estimatedShipDate
     * @return $this
     */
    public function setEstimatedShipDate($estimatedShipDate);

    /**
     * Walmart shippingInfo.estimatedDeliveryDate as ISO-8601.
     *
     * @return string|null
     */
    public function getEstimatedDeliveryDate();

    /**
     * @param string $estimatedDeliveryDate
     * @return $this
     */
    public function setEstimatedDeliveryDate($estimatedDeliveryDate);

    /**
     * Method code of the module's walmartsync carrier the order gets (the sidecar's mapping.ship_method_map); default: derived from ship_method.
     *
     * @return string|null
     */
    public function getShippingMethodCode();

    /**
     * @param string $shippingMethodCode
     * @return $this
     */
    public function setShippingMethodCode($shippingMethodCode);

    /**
     * Walmart shipNode.type: SellerFulfilled (default) or WFSFulfilled (Walmart ships it: no stock is checked or reserved).
     *
     * @return string|null
     */
    public function getFulfillment();

    /**
     * @param string $fulfillment
     * @return $this
     */
    public function setFulfillment($fulfillment);

    /**
     * Walmart ship node id the order is to ship from (shipNode.id).
     *
     * @return string|null
     */
    public function getShipNode();

    /**
     * @param string $shipNode
     * @return $this
     */
    public function setShipNode($shipNode);

    /**
     * MSI source code the sidecar maps the ship node to: shown on the order and chosen for its shipment where Magento allows it.
     *
     * @return string|null
     */
    public function getSourceCode();

    /**
     * @param string $sourceCode
     * @return $this
     */
    public function setSourceCode($sourceCode);

    /**
     * The open quantity of each Walmart order line.
     *
     * @return \WalmartSync\Marketplace\Api\Data\MarketplaceOrderLineInterface[]
     */
    public function getLines();

    /**
     * @param \WalmartSync\Marketplace\Api\Data\MarketplaceOrderLineInterface[] $lines
     * @return $this
     */
    public function setLines($lines);
}
