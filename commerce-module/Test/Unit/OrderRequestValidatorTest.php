<?php
declare(strict_types=1);

namespace WalmartSync\Marketplace\Test\Unit;

use PHPUnit\Framework\TestCase;
use WalmartSync\Marketplace\Logic\InvalidOrderRequest;
use WalmartSync\Marketplace\Logic\OrderRequestValidator;
use WalmartSync\Marketplace\Logic\ValidatedOrder;

final class OrderRequestValidatorTest extends TestCase
{
    public function testTheContractExampleIsValidAndNormalized(): void
    {
        $order = (new OrderRequestValidator())->validate(Fixtures::order());

        self::assertSame('108829123456789', $order->purchaseOrderId);
        self::assertSame('2025-03-01 14:05:00', $order->orderDate, 'UTC, MySQL datetime');
        self::assertSame('walmart_standard', $order->shippingMethodCode);
        self::assertCount(2, $order->lines);
        self::assertSame(1999, $order->lines[0]->unitPriceCents);
        self::assertSame(['SKU-RED-M' => 2, 'SKU-BLUE-L' => 1], $order->qtyBySku());
        self::assertSame('US', $order->shippingAddress['country_id']);
    }

    public function testOffsetDatesBecomeUtc(): void
    {
        $data = Fixtures::order();
        $data['order_date'] = '2025-03-01T09:05:00-05:00';
        $data['estimated_ship_date'] = '2025-03-03';
        $order = (new OrderRequestValidator())->validate($data);
        self::assertSame('2025-03-01 14:05:00', $order->orderDate);
        self::assertSame('2025-03-03 00:00:00', $order->estimatedShipDate);
    }

    public function testEveryProblemIsReportedAtOnce(): void
    {
        $data = Fixtures::order();
        $data['purchase_order_id'] = ' ';
        $data['customer_email'] = 'not-an-address';
        $data['shipping_address']['street'] = [];
        $data['shipping_address']['country_id'] = 'USA';
        $data['lines'][1]['line_number'] = $data['lines'][0]['line_number'];
        $data['lines'][0]['qty'] = 0;
        $data['lines'][0]['unit_price'] = '-1';
        $data['lines'][1]['tax_amount'] = 'twelve';
        $data['order_date'] = 'yesterday';

        try {
            (new OrderRequestValidator())->validate($data);
            self::fail('accepted');
        } catch (InvalidOrderRequest $e) {
            $errors = $e->errors();
        }
        self::assertSame([
            'purchase_order_id: required',
            'order_date: not an ISO-8601 date',
            'customer_email: not an e-mail address',
            'shipping_address.street: required',
            'shipping_address.country_id: longer than 2 characters',
            'lines[0].qty: must be a whole number from 1 to 10000',
            'lines[0].unit_price: negative',
            'lines[1].line_number: 1 appears twice',
            'lines[1].tax_amount: not a decimal amount',
        ], $errors);
    }

    public function testAnOrderWithoutLinesIsRefused(): void
    {
        $data = Fixtures::order();
        $data['lines'] = [];
        $this->expectException(InvalidOrderRequest::class);
        $this->expectExceptionMessage('lines: at least one line is required');
        (new OrderRequestValidator())->validate($data);
    }

    public function testNumericStringsAndWholeFloatsAreQuantities(): void
    {
        $data = Fixtures::order();
        $data['lines'][0]['qty'] = '3';
        $data['lines'][1]['qty'] = 2.0;
        $order = (new OrderRequestValidator())->validate($data);
        self::assertSame([3, 2], [$order->lines[0]->qty, $order->lines[1]->qty]);

        $data['lines'][1]['qty'] = 1.5;
        $this->expectException(InvalidOrderRequest::class);
        (new OrderRequestValidator())->validate($data);
    }

    public function testOptionalFieldsMayBeMissing(): void
    {
        $data = Fixtures::order();
        unset($data['currency_code'], $data['estimated_ship_date'], $data['estimated_delivery_date'],
            $data['ship_method'], $data['customer_order_id'], $data['lines'][0]['shipping_tax_amount'],
            $data['shipping_method_code'], $data['fulfillment'], $data['ship_node'], $data['source_code']);
        $order = (new OrderRequestValidator())->validate($data);
        self::assertNull($order->currencyCode);
        self::assertSame('marketplace', $order->shippingMethodCode);
        self::assertSame(0, $order->lines[0]->shippingTaxCents);
        self::assertSame(ValidatedOrder::SELLER_FULFILLED, $order->fulfillment);
        self::assertFalse($order->fulfilledByWalmart());
    }

    public function testTheSidecarsShippingMethodWinsOverTheDerivedOne(): void
    {
        $data = Fixtures::order();
        $data['ship_method'] = 'Express';
        $data['shipping_method_code'] = 'next_day_air';
        self::assertSame('next_day_air', (new OrderRequestValidator())->validate($data)->shippingMethodCode);
        unset($data['shipping_method_code']);
        self::assertSame('walmart_express', (new OrderRequestValidator())->validate($data)->shippingMethodCode);
        $data['shipping_method_code'] = 'Next Day';
        $this->expectException(InvalidOrderRequest::class);
        (new OrderRequestValidator())->validate($data);
    }

    public function testAWalmartFulfilledOrderIsRecognisedAndAnUnknownFulfillmentRefused(): void
    {
        $data = Fixtures::order();
        $data['fulfillment'] = 'WFSFulfilled';
        self::assertTrue((new OrderRequestValidator())->validate($data)->fulfilledByWalmart());
        $data['fulfillment'] = 'Amazon';
        $this->expectException(InvalidOrderRequest::class);
        (new OrderRequestValidator())->validate($data);
    }
}
