<?php
declare(strict_types=1);

namespace WalmartSync\Marketplace\Logic;

/**
 * Where the module's payment method and carrier may appear.
 *
 * A quote is a marketplace quote when quote.walmartsync_marketplace = 1, which only the module's own
 * placement and the authorized cart-flow plugins set; storefront quotes never are.
 */
final class MarketplaceQuotePolicy
{
    public const FLAG_FIELD = 'walmartsync_marketplace';

    /** @param mixed $flag the quote's walmartsync_marketplace value */
    public static function isMarketplace($flag): bool
    {
        return (int)$flag === 1;
    }

    /**
     * The payment method: marketplace quotes, and the admin order-create screen so a merchant can key
     * in a Walmart order by hand. Never the storefront checkout.
     */
    public static function paymentAvailable(bool $marketplaceQuote, string $areaCode): bool
    {
        return $marketplaceQuote || $areaCode === 'adminhtml';
    }

    /** The carrier's rate is Walmart's charge, which only a marketplace quote carries. */
    public static function carrierAvailable(bool $marketplaceQuote): bool
    {
        return $marketplaceQuote;
    }
}
