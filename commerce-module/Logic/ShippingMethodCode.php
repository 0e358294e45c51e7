<?php
declare(strict_types=1);

namespace WalmartSync\Marketplace\Logic;

/**
 * The carrier method code for a Walmart ship method: "Standard" -> "walmart_standard",
 * "OneDay" -> "walmart_oneday". The order's shipping_method becomes "walmartsync_walmart_standard",
 * so the merchant sees which Walmart service level was bought.
 */
final class ShippingMethodCode
{
    /** quote_address.shipping_method is varchar(120); keep the method part short. */
    private const MAX_LENGTH = 40;

    public static function fromWalmart(?string $shipMethod): string
    {
        $slug = strtolower(trim((string)$shipMethod));
        $slug = (string)preg_replace('/[^a-z0-9]+/', '_', $slug);
        $slug = trim($slug, '_');
        if ($slug === '') {
            return ModuleVersion::DEFAULT_METHOD_CODE;
        }
        return substr('walmart_' . $slug, 0, self::MAX_LENGTH);
    }

    /** The method title the order shows: "walmart_two_day" -> "Walmart Two Day". */
    public static function title(string $methodCode): string
    {
        if ($methodCode === ModuleVersion::DEFAULT_METHOD_CODE) {
            return 'Walmart Marketplace';
        }
        return ucwords(str_replace('_', ' ', $methodCode));
    }

    /** Whether a method code sent by a caller (the cart flow) is usable with the carrier. */
    public static function isValid(string $methodCode): bool
    {
        return (bool)preg_match('/^[a-z0-9_]{1,' . self::MAX_LENGTH . '}$/', $methodCode);
    }
}
