<?php
declare(strict_types=1);

namespace WalmartSync\Marketplace\Tools;

use WalmartSync\Marketplace\Logic\Money;
use WalmartSync\Marketplace\Logic\OrderRequestValidator;

/**
 * The request and response examples of contract.json and README.md. The response is computed from
 * the request (Logic\OrderAmounts), so the example totals are the ones the module would produce.
 */
final class ContractExamples
{
    /**
     * @return array<string, mixed>
     */
    public static function placeRequest(): array
    {
        return ['order' => [
            'purchase_order_id' => '108829123456789',
            'customer_order_id' => '2001234567890',
            'order_date' => '2025-03-01T14:05:00Z',
            'store_code' => 'default',
            'currency_code' => 'USD',
            'customer_email' => '2001234567890@relay.walmart.com',
            'customer_firstname' => 'Jane',
            'customer_lastname' => 'Doe',
            'shipping_address' => [
                'firstname' => 'Jane',
                'lastname' => 'Doe',
                'street' => ['860 W California Ave', 'Suite 100'],
                'city' => 'Sunnyvale',
                'region' => 'CA',
                'postcode' => '94086',
                'country_id' => 'US',
                'telephone' => '4085551234',
            ],
            'ship_method' => 'Standard',
            'estimated_ship_date' => '2025-03-03T00:00:00Z',
            'estimated_delivery_date' => '2025-03-07T00:00:00Z',
            'shipping_method_code' => 'walmart_standard',
            'fulfillment' => 'SellerFulfilled',
            'ship_node' => '7001234567',
            'source_code' => 'wh_east',
            'lines' => [
                ['line_number' => '1', 'sku' => 'SKU-RED-M', 'qty' => 2, 'unit_price' => 19.99,
                 'tax_amount' => 3.2, 'shipping_amount' => 4.99, 'shipping_tax_amount' => 0.4],
                ['line_number' => '2', 'sku' => 'SKU-BLUE-L', 'qty' => 1, 'unit_price' => 5.0,
                 'tax_amount' => 0.4, 'shipping_amount' => 0.0, 'shipping_tax_amount' => 0.0],
            ],
        ]];
    }

    /**
     * @return array<string, mixed>
     */
    public static function placeResponse(bool $created = true): array
    {
        $order = (new OrderRequestValidator())->validate(self::placeRequest()['order']);
        $amounts = $order->amounts();
        $lines = [];
        foreach ($order->lines as $i => $line) {
            $lines[] = ['line_number' => $line->lineNumber, 'sku' => $line->sku, 'qty' => $line->qty,
                        'quote_item_id' => 8801 + $i, 'order_item_id' => 5501 + $i];
        }
        return [
            'purchase_order_id' => $order->purchaseOrderId,
            'state' => 'placed',
            'created' => $created,
            'same_request' => true,
            'attempts' => 1,
            'order_id' => 3120,
            'increment_id' => '000003120',
            'subtotal' => Money::toFloat($amounts->subtotalCents),
            'shipping_amount' => Money::toFloat($amounts->shippingCents),
            'tax_amount' => Money::toFloat($amounts->taxCents()),
            'grand_total' => Money::toFloat($amounts->grandTotalCents()),
            'lines' => $lines,
        ];
    }

    /**
     * @return array<string, mixed>
     */
    public static function refusalResponse(): array
    {
        return [
            'message' => 'Walmart purchase order %purchase_order_id was not placed (%code): %reason',
            'parameters' => [
                'purchase_order_id' => '108829123456789',
                'code' => 'OUT_OF_STOCK',
                'reason' => 'The requested qty is not available',
                'phase' => 'add_item',
                'retriable' => 'false',
                'walmart_cancellable' => 'true',
                'line_number' => '2',
                'sku' => 'SKU-BLUE-L',
                'magento_message' => 'The requested qty is not available',
            ],
        ];
    }

    /**
     * @return array<string, mixed>
     */
    public static function inProgressResponse(): array
    {
        return [
            'message' => 'Walmart purchase order %purchase_order_id was not placed (%code): %reason',
            'parameters' => [
                'purchase_order_id' => '108829123456789',
                'code' => 'PLACEMENT_IN_PROGRESS',
                'reason' => 'another call is placing this purchase order',
                'phase' => 'claim',
                'retriable' => 'true',
                'walmart_cancellable' => 'false',
                'retry_after' => '540',
            ],
        ];
    }
}
