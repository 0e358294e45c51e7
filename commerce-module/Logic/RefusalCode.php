<?php
declare(strict_types=1);

namespace WalmartSync\Marketplace\Logic;

/**
 * Stable, machine-readable reasons a marketplace order was not placed.
 *
 * They travel in the REST error's "parameters.code" (see Refusal::toParameters()); the sidecar maps
 * them to its own outcomes: "walmart_cancellable" ones may be cancelled on Walmart (the item cannot
 * be sold from this store), "retriable" ones are worth asking again later, the rest need the
 * merchant (a catalogue or configuration problem) and go to the dead-letter topic.
 */
final class RefusalCode
{
    public const INVALID_REQUEST = 'INVALID_REQUEST';
    public const STORE_NOT_FOUND = 'STORE_NOT_FOUND';
    public const CURRENCY_MISMATCH = 'CURRENCY_MISMATCH';
    public const UNKNOWN_SKU = 'UNKNOWN_SKU';
    public const PRODUCT_DISABLED = 'PRODUCT_DISABLED';
    public const PRODUCT_NOT_IN_WEBSITE = 'PRODUCT_NOT_IN_WEBSITE';
    public const PRODUCT_NOT_SALABLE = 'PRODUCT_NOT_SALABLE';
    public const PRODUCT_OPTIONS_REQUIRED = 'PRODUCT_OPTIONS_REQUIRED';
    public const OUT_OF_STOCK = 'OUT_OF_STOCK';
    public const QTY_NOT_ALLOWED = 'QTY_NOT_ALLOWED';
    public const ADDRESS_INVALID = 'ADDRESS_INVALID';
    public const SHIPPING_METHOD_UNAVAILABLE = 'SHIPPING_METHOD_UNAVAILABLE';
    public const PAYMENT_METHOD_UNAVAILABLE = 'PAYMENT_METHOD_UNAVAILABLE';
    public const TOTALS_MISMATCH = 'TOTALS_MISMATCH';
    public const UNSUPPORTED_FIELD = 'UNSUPPORTED_FIELD';
    public const PLACEMENT_IN_PROGRESS = 'PLACEMENT_IN_PROGRESS';
    public const ORDER_DELETED = 'ORDER_DELETED';
    public const COMMERCE_REFUSED = 'COMMERCE_REFUSED';
    public const COMMERCE_ERROR = 'COMMERCE_ERROR';

    /**
     * code => [http status, retriable, walmart_cancellable, meaning]
     *
     * @var array<string, array{0:int, 1:bool, 2:bool, 3:string}>
     */
    private const META = [
        self::INVALID_REQUEST => [400, false, false, 'the request is not a placeable order; parameters.errors says why'],
        self::STORE_NOT_FOUND => [400, false, false, 'store_code names no store'],
        self::CURRENCY_MISMATCH => [400, false, false, "currency_code is not the store's base currency"],
        self::UNKNOWN_SKU => [400, false, false, 'no product has this SKU'],
        self::PRODUCT_DISABLED => [400, false, true, 'the product is disabled in the order\'s store'],
        self::PRODUCT_NOT_IN_WEBSITE => [400, false, true, 'the product is not assigned to the store\'s website'],
        self::PRODUCT_NOT_SALABLE => [400, false, true, 'Magento says the product is not available (disabled, out of stock or not in the website)'],
        self::PRODUCT_OPTIONS_REQUIRED => [400, false, false, 'the SKU is a configurable/bundle parent or has required options; Walmart SKUs must map to simple products'],
        self::OUT_OF_STOCK => [400, false, true, 'not enough salable quantity in the stock of the store\'s website'],
        self::QTY_NOT_ALLOWED => [400, false, false, 'the quantity breaks the product\'s min/max sale quantity, increments or decimal rule'],
        self::ADDRESS_INVALID => [400, false, false, 'Magento refused the shipping address'],
        self::SHIPPING_METHOD_UNAVAILABLE => [400, false, false, 'the walmartsync carrier is disabled or returned no rate'],
        self::PAYMENT_METHOD_UNAVAILABLE => [400, false, false, 'the walmartsync_marketplace payment method is disabled'],
        self::TOTALS_MISMATCH => [400, false, false, 'Magento\'s totals differ from Walmart\'s (cart rules, FPT, prices including tax); nothing was placed'],
        self::UNSUPPORTED_FIELD => [400, false, false, 'Magento refused a request field it has no setter for (module not installed or older than the caller)'],
        self::PLACEMENT_IN_PROGRESS => [409, true, false, 'another call is placing this purchase order; ask again after parameters.retry_after seconds'],
        self::ORDER_DELETED => [409, false, false, 'the order placed for this purchase order was deleted in Commerce; nothing is placed again'],
        self::COMMERCE_REFUSED => [400, false, false, 'Magento refused the order for a reason not classified above; parameters.magento_message has its words'],
        self::COMMERCE_ERROR => [500, true, false, 'unexpected error (database, deadlock, code); safe to retry: the claim makes it idempotent'],
    ];

    /**
     * @return string[]
     */
    public static function all(): array
    {
        return array_keys(self::META);
    }

    public static function exists(string $code): bool
    {
        return isset(self::META[$code]);
    }

    public static function httpStatus(string $code): int
    {
        return self::META[$code][0] ?? 400;
    }

    public static function isRetriable(string $code): bool
    {
        return self::META[$code][1] ?? false;
    }

    public static function isWalmartCancellable(string $code): bool
    {
        return self::META[$code][2] ?? false;
    }

    public static function describe(string $code): string
    {
        return self::META[$code][3] ?? '';
    }
}
