<?php
declare(strict_types=1);

namespace WalmartSync\Marketplace\Test\Unit;

use PHPUnit\Framework\TestCase;
use WalmartSync\Marketplace\Logic\OrderRequestValidator;

final class OrderAmountsTest extends TestCase
{
    public function testTotalsAreWalmartsFigures(): void
    {
        $amounts = (new OrderRequestValidator())->validate(Fixtures::order())->amounts();
        // 2 x 19.99 + 1 x 5.00; tax 3.20 + 0.40; shipping 4.99 + 0.00, its tax 0.40 + 0.00
        self::assertSame([
            'subtotal' => '44.98',
            'shipping_amount' => '4.99',
            'tax_amount' => '4.00',
            'grand_total' => '53.97',
        ], $amounts->toArray());
    }

    public function testMismatchesNameEveryTotalThatDiffers(): void
    {
        $amounts = (new OrderRequestValidator())->validate(Fixtures::order())->amounts();
        self::assertSame([], $amounts->mismatches(['subtotal' => 44.98, 'shipping_amount' => '4.99',
            'tax_amount' => 4.0, 'grand_total' => 53.97]));
        self::assertSame([
            'subtotal is 40.48, Walmart says 44.98',
            'grand_total is 49.47, Walmart says 53.97',
        ], $amounts->mismatches(['subtotal' => 40.48, 'shipping_amount' => 4.99, 'tax_amount' => 4,
            'grand_total' => 49.47]), 'a 10% cart rule on the first line');
    }
}
