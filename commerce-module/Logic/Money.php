<?php
declare(strict_types=1);

namespace WalmartSync\Marketplace\Logic;

use InvalidArgumentException;

/**
 * Amounts as integer cents, so sums and comparisons are exact.
 *
 * Walmart's charges have two decimals; anything finer is rounded half up (away from zero), the way
 * Magento's PriceCurrency::round() rounds a positive amount.
 */
final class Money
{
    /**
     * @param int|float|string $amount
     */
    public static function toCents($amount): int
    {
        if (is_int($amount)) {
            return $amount * 100;
        }
        if (is_float($amount)) {
            if (!is_finite($amount)) {
                throw new InvalidArgumentException('amount is not a finite number');
            }
            $amount = sprintf('%.6F', $amount);
        }
        if (!is_string($amount)) {
            throw new InvalidArgumentException('amount is not a number');
        }
        if (!preg_match('/^([+-]?)(\d{1,13})(?:\.(\d{1,6}))?$/', trim($amount), $m)) {
            throw new InvalidArgumentException(sprintf('"%s" is not a decimal amount', $amount));
        }
        $fraction = str_pad($m[3] ?? '', 6, '0');
        $cents = (int)$m[2] * 100 + (int)substr($fraction, 0, 2);
        if ((int)substr($fraction, 2) >= 5000) {
            $cents++;
        }
        return $m[1] === '-' ? -$cents : $cents;
    }

    public static function toFloat(int $cents): float
    {
        return round($cents / 100, 2);
    }

    public static function format(int $cents): string
    {
        $sign = $cents < 0 ? '-' : '';
        $cents = abs($cents);
        return sprintf('%s%d.%02d', $sign, intdiv($cents, 100), $cents % 100);
    }
}
