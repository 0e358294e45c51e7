<?php
declare(strict_types=1);

namespace WalmartSync\Marketplace\Model\Data;

use WalmartSync\Marketplace\Api\Data\MarketplaceAddressInterface;
use WalmartSync\Marketplace\Api\Data\MarketplaceOrderInterface;
use WalmartSync\Marketplace\Api\Data\MarketplaceOrderLineInterface;

/**
 * The data object Magento's ServiceInputProcessor built, back as the snake_case array of the REST
 * contract, for Logic\OrderRequestValidator. Plain PHP.
 */
final class OrderArray
{
    /**
     * @return array<string, mixed>
     */
    public static function fromOrder(MarketplaceOrderInterface $order): array
    {
        $address = $order->getShippingAddress();
        return [
            'purchase_order_id' => $order->getPurchaseOrderId(),
            'customer_order_id' => $order->getCustomerOrderId(),
            'order_date' => $order->getOrderDate(),
            'store_code' => $order->getStoreCode(),
            'currency_code' => $order->getCurrencyCode(),
            'customer_email' => $order->getCustomerEmail(),
            'customer_firstname' => $order->getCustomerFirstname(),
            'customer_lastname' => $order->getCustomerLastname(),
            'shipping_address' => $address instanceof MarketplaceAddressInterface ? [
                'firstname' => $address->getFirstname(),
                'lastname' => $address->getLastname(),
                'street' => $address->getStreet(),
                'city' => $address->getCity(),
                'region' => $address->getRegion(),
                'postcode' => $address->getPostcode(),
                'country_id' => $address->getCountryId(),
                'telephone' => $address->getTelephone(),
            ] : null,
            'ship_method' => $order->getShipMethod(),
            'estimated_ship_date' => $order->getEstimatedShipDate(),
            'estimated_delivery_date' => $order->getEstimatedDeliveryDate(),
            'shipping_method_code' => $order->getShippingMethodCode(),
            'fulfillment' => $order->getFulfillment(),
            'ship_node' => $order->getShipNode(),
            'source_code' => $order->getSourceCode(),
            'lines' => array_map(static fn ($line): ?array => $line instanceof MarketplaceOrderLineInterface ? [
                'line_number' => $line->getLineNumber(),
                'sku' => $line->getSku(),
                'qty' => $line->getQty(),
                'unit_price' => $line->getUnitPrice(),
                'tax_amount' => $line->getTaxAmount(),
                'shipping_amount' => $line->getShippingAmount(),
                'shipping_tax_amount' => $line->getShippingTaxAmount(),
            ] : null, $order->getLines() ?? []),
        ];
    }
}
