<?php
declare(strict_types=1);

namespace WalmartSync\Marketplace\Test\Unit;

use LogicException;
use PHPUnit\Framework\TestCase;
use WalmartSync\Marketplace\Logic\CartAmountsPolicy;
use WalmartSync\Marketplace\Logic\LineMap;
use WalmartSync\Marketplace\Logic\MarketplaceQuotePolicy;
use WalmartSync\Marketplace\Logic\OrderComment;
use WalmartSync\Marketplace\Logic\OrderRequestValidator;
use WalmartSync\Marketplace\Logic\ProductEligibility;
use WalmartSync\Marketplace\Logic\RefusalCode;
use WalmartSync\Marketplace\Logic\RequestFingerprint;
use WalmartSync\Marketplace\Logic\ShippingMethodCode;

final class SmallRulesTest extends TestCase
{
    public function testProductEligibility(): void
    {
        $check = new ProductEligibility();
        self::assertNull($check->check('simple', 1, [1, 2], 2, false));
        self::assertSame(RefusalCode::PRODUCT_DISABLED, $check->check('simple', 2, [1], 1, false));
        self::assertSame(RefusalCode::PRODUCT_NOT_IN_WEBSITE, $check->check('simple', 1, ['1'], 3, false));
        self::assertSame(RefusalCode::PRODUCT_OPTIONS_REQUIRED, $check->check('configurable', 1, [1], 1, false));
        self::assertSame(RefusalCode::PRODUCT_OPTIONS_REQUIRED, $check->check('simple', 1, [1], 1, true));
    }

    public function testOnlyAnAuthorizedIntegrationOrAdminMaySetCartAmounts(): void
    {
        $policy = new CartAmountsPolicy();
        self::assertTrue($policy->allows(true, CartAmountsPolicy::USER_TYPE_INTEGRATION, true));
        self::assertTrue($policy->allows(true, CartAmountsPolicy::USER_TYPE_ADMIN, true));
        self::assertFalse($policy->allows(true, 3, true), 'a customer token');
        self::assertFalse($policy->allows(true, 4, true), 'a guest');
        self::assertFalse($policy->allows(true, null, true));
        self::assertFalse($policy->allows(true, CartAmountsPolicy::USER_TYPE_INTEGRATION, false), 'role lacks the ACL resource');
        self::assertFalse($policy->allows(false, CartAmountsPolicy::USER_TYPE_INTEGRATION, true), 'switched off');
    }

    public function testMarketplaceQuotePolicy(): void
    {
        self::assertTrue(MarketplaceQuotePolicy::isMarketplace('1'));
        self::assertFalse(MarketplaceQuotePolicy::isMarketplace(null));
        self::assertTrue(MarketplaceQuotePolicy::paymentAvailable(true, 'webapi_rest'));
        self::assertTrue(MarketplaceQuotePolicy::paymentAvailable(false, 'adminhtml'), 'keying in a Walmart order by hand');
        self::assertFalse(MarketplaceQuotePolicy::paymentAvailable(false, 'frontend'));
        self::assertFalse(MarketplaceQuotePolicy::paymentAvailable(false, 'webapi_rest'), 'a storefront REST/guest cart');
        self::assertFalse(MarketplaceQuotePolicy::paymentAvailable(false, 'graphql'));
        self::assertTrue(MarketplaceQuotePolicy::carrierAvailable(true));
        self::assertFalse(MarketplaceQuotePolicy::carrierAvailable(false));
    }

    public function testShippingMethodCodes(): void
    {
        self::assertSame('walmart_standard', ShippingMethodCode::fromWalmart('Standard'));
        self::assertSame('walmart_oneday', ShippingMethodCode::fromWalmart('OneDay'));
        self::assertSame('walmart_two_day', ShippingMethodCode::fromWalmart(' Two-Day '));
        self::assertSame('marketplace', ShippingMethodCode::fromWalmart(''));
        self::assertSame('marketplace', ShippingMethodCode::fromWalmart(null));
        self::assertSame('Walmart Two Day', ShippingMethodCode::title('walmart_two_day'));
        self::assertSame('Walmart Marketplace', ShippingMethodCode::title('marketplace'));
        self::assertTrue(ShippingMethodCode::isValid('walmart_standard'));
        self::assertFalse(ShippingMethodCode::isValid('Walmart Standard'));
    }

    public function testLineMapFollowsLinesToOrderItems(): void
    {
        $order = (new OrderRequestValidator())->validate(Fixtures::order());
        $map = LineMap::forLines($order->lines)->withQuoteItems(['1' => 11, '2' => 12]);
        self::assertFalse($map->isComplete());
        $map = LineMap::fromJson($map->toJson())->withOrderItems([11 => 101, 12 => 102]);
        self::assertTrue($map->isComplete());
        self::assertSame([
            ['line_number' => '1', 'sku' => 'SKU-RED-M', 'qty' => 2, 'quote_item_id' => 11, 'order_item_id' => 101],
            ['line_number' => '2', 'sku' => 'SKU-BLUE-L', 'qty' => 1, 'quote_item_id' => 12, 'order_item_id' => 102],
        ], $map->toList());
    }

    public function testLineMapRefusesMergedLinesAndMissingItems(): void
    {
        $order = (new OrderRequestValidator())->validate(Fixtures::order());
        try {
            LineMap::forLines($order->lines)->withQuoteItems(['1' => 11, '2' => 11]);
            self::fail('merged lines accepted');
        } catch (LogicException $e) {
            self::assertStringContainsString('Magento merged them', $e->getMessage());
        }
        $this->expectException(LogicException::class);
        LineMap::forLines($order->lines)->withQuoteItems(['1' => 11, '2' => 12])->withOrderItems([11 => 101]);
    }

    public function testFingerprintIgnoresKeyOrderButNotContent(): void
    {
        $validator = new OrderRequestValidator();
        $data = Fixtures::order();
        $reordered = array_reverse($data, true);
        $reordered['shipping_address'] = array_reverse($data['shipping_address'], true);
        self::assertSame(RequestFingerprint::of($validator->validate($data)),
            RequestFingerprint::of($validator->validate($reordered)));
        $data['lines'][0]['qty'] = 1;
        self::assertNotSame(RequestFingerprint::of($validator->validate($reordered)),
            RequestFingerprint::of($validator->validate($data)));
    }

    public function testOrderComment(): void
    {
        $order = (new OrderRequestValidator())->validate(Fixtures::order());
        self::assertSame('Walmart purchase order 108829123456789, customer order 2001234567890, ship method Standard, '
            . 'ship by 2025-03-03 00:00:00 UTC, deliver by 2025-03-07 00:00:00 UTC, ship node 7001234567 (source '
            . 'wh_east). line 1: 2 x SKU-RED-M; '
            . "line 2: 1 x SKU-BLUE-L. Placed by walmart-sync; tax is Walmart's (marketplace facilitator).",
            OrderComment::text($order));
    }
}
