<?php
declare(strict_types=1);

namespace WalmartSync\Marketplace\Test\Unit;

use InvalidArgumentException;
use PHPUnit\Framework\TestCase;
use WalmartSync\Marketplace\Logic\Money;

final class MoneyTest extends TestCase
{
    /**
     * @dataProvider amounts
     * @param int|float|string $amount
     */
    public function testToCents($amount, int $cents): void
    {
        self::assertSame($cents, Money::toCents($amount));
    }

    /**
     * @return array<string, array{0:int|float|string, 1:int}>
     */
    public static function amounts(): array
    {
        return [
            'integer' => [12, 1200],
            'two decimals' => ['19.99', 1999],
            'float sum is exact' => [0.1 + 0.2, 30],
            'half up' => ['2.675', 268],
            'float 2.675 rounds as written' => [2.675, 268],
            'below half' => ['2.6749', 267],
            'no decimals' => ['7', 700],
            'negative' => ['-1.005', -101],
            'one decimal' => ['3.5', 350],
            'zero' => [0.0, 0],
        ];
    }

    public function testRejectsWhatIsNotAnAmount(): void
    {
        foreach (['', 'abc', '1,50', '1e5', '1.2.3'] as $bad) {
            try {
                Money::toCents($bad);
                self::fail("accepted \"$bad\"");
            } catch (InvalidArgumentException $e) {
                self::assertStringContainsString('amount', $e->getMessage());
            }
        }
        $this->expectException(InvalidArgumentException::class);
        Money::toCents(INF);
    }

    public function testFormat(): void
    {
        self::assertSame('0.05', Money::format(5));
        self::assertSame('1234.50', Money::format(123450));
        self::assertSame('-0.30', Money::format(-30));
        self::assertSame(19.99, Money::toFloat(1999));
    }
}
