<?php
declare(strict_types=1);

namespace WalmartSync\Marketplace\Logic;

/**
 * Maps what Magento 2.4.6-2.4.8 says when it refuses an order to a stable RefusalCode.
 *
 * Two signals, best first:
 *
 * 1. Stock error codes. The placement asks Magento\CatalogInventory\Api\StockStateInterface::
 *    checkQuoteItemQty() before adding a line; with MSI that call is answered by
 *    Magento\InventorySales\Model\GetBackorder (plugin CheckQuoteItemQtyPlugin) whose result carries
 *    the ProductSalabilityError code of the failing condition, without MSI by
 *    Magento\CatalogInventory\Model\StockStateProvider's error_code. Codes do not depend on the
 *    store's locale; messages do (REST answers are translated), so codes win.
 * 2. Message patterns (English, as shipped): for refusals that surface as exceptions, e.g. from
 *    Quote::addProduct(), QuoteValidator and MSI's CheckItemsQuantity at placement. Patterns are
 *    plain regular expressions that Python's re accepts too: contract.json carries this table so
 *    the sidecar's cart-flow importer and the Commerce emulator classify the same way.
 *
 * Sources were read from magento/magento2, mage-os/mageos-magento2 and the magento/inventory tags
 * 1.2.6 (ships with 2.4.6), 1.2.7 (2.4.7) and develop after 1.2.8-beta1 (2.4.8); see README.md.
 */
final class RefusalClassifier
{
    /**
     * Stock error codes => refusal code.
     *
     * @return array<string, array{code:string, source:string, versions:string}>
     */
    public static function stockErrorCodes(): array
    {
        $msi = 'Magento\\InventorySales\\Model\\IsProductSalableForRequestedQtyCondition\\';
        $core = 'Magento\\CatalogInventory\\Model\\StockStateProvider::checkQuoteItemQty';
        $out = RefusalCode::OUT_OF_STOCK;
        $qty = RefusalCode::QTY_NOT_ALLOWED;
        return [
            'is_salable_with_reservations-not_enough_qty' => ['code' => $out, 'source' => $msi . 'IsSalableWithReservationsCondition', 'versions' => '2.4.6-2.4.8'],
            'is_salable_with_reservations-no_data' => ['code' => $out, 'source' => $msi . 'IsSalableWithReservationsCondition', 'versions' => '2.4.6-2.4.8'],
            'requested-sku-is-not-assigned-to-given-stock' => ['code' => $out, 'source' => $msi . 'IsProductSalableForRequestedQtyConditionChain', 'versions' => '2.4.6-2.4.8'],
            'is_any_source_item_in_stock-no_source_items_in_stock' => ['code' => $out, 'source' => $msi . 'IsAnySourceItemInStockCondition', 'versions' => '2.4.6-2.4.8'],
            'back_order-disabled' => ['code' => $out, 'source' => $msi . 'BackOrderCondition', 'versions' => '2.4.6-2.4.8'],
            'manage_stock-enabled' => ['code' => $out, 'source' => $msi . 'ManageStockCondition', 'versions' => '2.4.6-2.4.8'],
            'is_correct_qty-min_sale_qty' => ['code' => $qty, 'source' => $msi . 'IsCorrectQtyCondition', 'versions' => '2.4.6-2.4.8'],
            'is_correct_qty-max_sale_qty' => ['code' => $qty, 'source' => $msi . 'IsCorrectQtyCondition', 'versions' => '2.4.6-2.4.8'],
            'is_correct_qty-qty_increment' => ['code' => $qty, 'source' => $msi . 'IsCorrectQtyCondition', 'versions' => '2.4.6-2.4.8'],
            'is_correct_qty-is_qty_decimal' => ['code' => $qty, 'source' => $msi . 'IsCorrectQtyCondition', 'versions' => '2.4.6-2.4.8'],
            'qty_available' => ['code' => $out, 'source' => $core, 'versions' => '2.4.6-2.4.8 (MSI disabled)'],
            'out_stock' => ['code' => $out, 'source' => $core, 'versions' => '2.4.6-2.4.8 (MSI disabled)'],
            'qty_min' => ['code' => $qty, 'source' => $core, 'versions' => '2.4.6-2.4.8 (MSI disabled)'],
            'qty_max' => ['code' => $qty, 'source' => $core, 'versions' => '2.4.6-2.4.8 (MSI disabled)'],
            'qty_increments' => ['code' => $qty, 'source' => $core, 'versions' => '2.4.6-2.4.8 (MSI disabled)'],
            'qty_decimal' => ['code' => $qty, 'source' => $core, 'versions' => '2.4.8 (MSI disabled)'],
        ];
    }

    /**
     * Message patterns in priority order (the first that matches any line of the message wins).
     *
     * @return array<int, array{code:string, pattern:string, source:string, versions:string}>
     */
    public static function messagePatterns(): array
    {
        $msi = 'Magento\\InventorySales\\Model\\IsProductSalableForRequestedQtyCondition\\';
        $out = RefusalCode::OUT_OF_STOCK;
        $qty = RefusalCode::QTY_NOT_ALLOWED;
        return [
            ['code' => $out, 'pattern' => '^The requested qty is not available', 'versions' => '2.4.6-2.4.7',
             'source' => $msi . 'IsSalableWithReservationsCondition (MSI 1.2.6/1.2.7); Magento\\CatalogInventory\\Model\\StockStateProvider; at placement via Magento\\InventorySales\\Model\\CheckItemsQuantity'],
            ['code' => $out, 'pattern' => '^The requested qty\\. is not available', 'versions' => '2.4.8',
             'source' => 'Magento\\CatalogInventory\\Model\\StockStateProvider quote message (MSI disabled); QuoteGraphQl rewording'],
            ['code' => $out, 'pattern' => '^Not enough items for sale', 'versions' => '2.4.8',
             'source' => $msi . 'IsSalableWithReservationsCondition after LYNX-530 (config cataloginventory/options/not_available_message != 1); Magento\\CatalogInventory\\Model\\StockStateProvider'],
            ['code' => $out, 'pattern' => '^Only [0-9.]+ of [0-9.]+ available', 'versions' => '2.4.8',
             'source' => $msi . 'IsSalableWithReservationsCondition after LYNX-530 (cataloginventory/options/not_available_message = 1); Magento\\CatalogInventory\\Model\\StockStateProvider'],
            ['code' => $out, 'pattern' => '^There are no source items with the in stock status', 'versions' => '2.4.6-2.4.8',
             'source' => $msi . 'IsAnySourceItemInStockCondition'],
            ['code' => $out, 'pattern' => '^The requested sku is not assigned to given stock', 'versions' => '2.4.6-2.4.8',
             'source' => $msi . 'IsSalableWithReservationsCondition, IsProductSalableForRequestedQtyConditionChain'],
            ['code' => $out, 'pattern' => '^This product is out of stock', 'versions' => '2.4.6-2.4.8',
             'source' => 'Magento\\CatalogInventory\\Model\\Quote\\Item\\QuantityValidator; Magento\\CatalogInventory\\Model\\StockStateProvider'],
            ['code' => $out, 'pattern' => '^The product with SKU .+ is out of stock', 'versions' => '2.4.8+',
             'source' => 'Magento\\CatalogInventory\\Model\\StockStateProvider (recent 2.4-develop, read in mage-os/mageos-magento2)'],
            ['code' => $out, 'pattern' => '^Some of the products are out of stock', 'versions' => '2.4.6-2.4.8',
             'source' => 'Magento\\CatalogInventory\\Model\\Quote\\Item\\QuantityValidator (quote-level message, surfaced by Magento\\Quote\\Model\\QuoteValidator)'],
            ['code' => $out, 'pattern' => '^Not all of your products are available in the requested quantity', 'versions' => '2.4.6-2.4.8 (MSI disabled)',
             'source' => 'Magento\\CatalogInventory\\Model\\StockManagement::registerProductsSale (legacy inventory; text not re-read for this module)'],
            ['code' => $out, 'pattern' => '^We don\'t have as many .+ as you requested', 'versions' => '<= 2.3',
             'source' => 'Magento\\CatalogInventory\\Model\\StockStateProvider (older releases; kept for stores upgraded in place)'],
            ['code' => $qty, 'pattern' => '^The fewest you may purchase is ', 'versions' => '2.4.6-2.4.8',
             'source' => $msi . 'IsCorrectQtyCondition; Magento\\CatalogInventory\\Model\\StockStateProvider'],
            ['code' => $qty, 'pattern' => '^The most you may purchase is ', 'versions' => '<= 2.4.5',
             'source' => 'Magento\\CatalogInventory\\Model\\StockStateProvider (older releases)'],
            ['code' => $qty, 'pattern' => '^The requested qty exceeds the maximum qty allowed in shopping cart', 'versions' => '2.4.6-2.4.8',
             'source' => $msi . 'IsCorrectQtyCondition; Magento\\CatalogInventory\\Model\\StockStateProvider'],
            ['code' => $qty, 'pattern' => '^You can buy (this product|.+) only in quantities of ', 'versions' => '2.4.6-2.4.8',
             'source' => $msi . 'IsCorrectQtyCondition; Magento\\CatalogInventory\\Model\\StockStateProvider::checkQtyIncrements'],
            ['code' => $qty, 'pattern' => '^You cannot use decimal quantity for this product', 'versions' => '2.4.6-2.4.8',
             'source' => $msi . 'IsCorrectQtyCondition; Magento\\CatalogInventory\\Model\\StockStateProvider'],
            ['code' => RefusalCode::PRODUCT_NOT_SALABLE, 'pattern' => '^Product that you are trying to add is not available', 'versions' => '2.4.6-2.4.8',
             'source' => 'Magento\\Quote\\Model\\Quote::addProduct (product->isSalable() false: disabled, out of stock, not in website); Magento\\Quote\\Plugin\\Webapi\\ValidateProductWebsiteAssignment (recent releases, REST cart items only)'],
            ['code' => RefusalCode::UNKNOWN_SKU, 'pattern' => '^The product that was requested doesn\'t exist', 'versions' => '2.4.6-2.4.8',
             'source' => 'Magento\\Catalog\\Model\\ProductRepository::get (NoSuchEntityException, HTTP 404); Magento\\InventorySales\\Model\\GetProductSalableQty'],
            ['code' => RefusalCode::PRODUCT_OPTIONS_REQUIRED, 'pattern' => '^(You need to choose options for your item|Please specify product\'s required option|Please specify product option|The product\'s required option\\(s\\) weren\'t entered)', 'versions' => '2.4.6-2.4.8',
             'source' => 'Magento\\Catalog\\Model\\Product\\Type\\AbstractType::prepareForCartAdvanced and the configurable/bundle types'],
            ['code' => RefusalCode::ADDRESS_INVALID, 'pattern' => '^(Please check the (shipping|billing) address information|Some addresses can\'t be used due to the configurations for specific countries|The shipping address is missing|Shipping address is not set)', 'versions' => '2.4.6-2.4.8',
             'source' => 'Magento\\Quote\\Model\\CustomerManagement::validateAddresses; Magento\\Quote\\Model\\QuoteValidator; Magento\\Checkout\\Model\\ShippingInformationManagement'],
            ['code' => RefusalCode::SHIPPING_METHOD_UNAVAILABLE, 'pattern' => '^(The shipping method is missing|Carrier with such method not found)', 'versions' => '2.4.6-2.4.8',
             'source' => 'Magento\\Quote\\Model\\QuoteValidator; Magento\\Checkout\\Model\\ShippingInformationManagement::saveAddressInformation'],
            ['code' => RefusalCode::PAYMENT_METHOD_UNAVAILABLE, 'pattern' => '^(The requested Payment Method is not available|Enter a valid payment method and try again|The payment method you requested is not available)', 'versions' => '2.4.6-2.4.8',
             'source' => 'Magento\\Quote\\Model\\Quote\\Payment::importData; Magento\\Quote\\Model\\QuoteValidator; Magento\\Quote\\Model\\PaymentMethodManagement'],
            ['code' => RefusalCode::STORE_NOT_FOUND, 'pattern' => '^The store that was requested wasn\'t found', 'versions' => '2.4.6-2.4.8',
             'source' => 'Magento\\Store\\Model\\StoreRepository::get'],
            ['code' => RefusalCode::UNSUPPORTED_FIELD, 'pattern' => '^"[^"]+" is not supported\\. Correct the field name and try again', 'versions' => '2.4.7-2.4.8',
             'source' => 'Magento\\Framework\\Webapi\\ServiceInputProcessor::processInputErrorForNestedSet (InputException, HTTP 400)'],
            ['code' => RefusalCode::UNSUPPORTED_FIELD, 'pattern' => '^Property "[^"]+" does not have accessor method', 'versions' => '2.4.6 (developer mode only; production answers HTTP 500 "Internal Error")',
             'source' => 'Magento\\Framework\\Reflection\\NameFinder::findAccessorMethodName (LogicException, HTTP 500)'],
            ['code' => RefusalCode::INVALID_REQUEST, 'pattern' => '^"[^"]+" is required\\. Enter and try again', 'versions' => '2.4.6-2.4.8',
             'source' => 'Magento\\Framework\\Webapi\\ServiceInputProcessor::processInputError; Magento\\Customer\\Model\\Address\\Validator\\*'],
        ];
    }

    /**
     * Fills Magento's placeholders the way its REST error body is meant to be read:
     * "%name" from named parameters, "%1".."%n" from positional ones.
     *
     * @param array<int|string, mixed> $parameters
     */
    public static function render(string $message, array $parameters): string
    {
        if (!$parameters) {
            return $message;
        }
        return (string)preg_replace_callback('/%(\w+)/', static function (array $m) use ($parameters): string {
            $key = $m[1];
            if (ctype_digit($key) && array_key_exists((int)$key - 1, $parameters) && array_is_list($parameters)) {
                return (string)$parameters[(int)$key - 1];
            }
            if (array_key_exists($key, $parameters) && is_scalar($parameters[$key])) {
                return (string)$parameters[$key];
            }
            return $m[0];
        }, $message);
    }

    /**
     * @param array<int|string, mixed> $parameters the exception's getParameters()
     * @param string|null $stockErrorCode from StockStateInterface::checkQuoteItemQty(), when known
     */
    public function classify(string $message, array $parameters = [], ?string $stockErrorCode = null,
                             string $phase = Refusal::PHASE_PLACE): Refusal
    {
        $rendered = trim(self::render($message, $parameters));
        $codes = self::stockErrorCodes();
        if ($stockErrorCode !== null && isset($codes[$stockErrorCode])) {
            return new Refusal($codes[$stockErrorCode]['code'], $rendered, $phase, null, null, $rendered);
        }
        $lines = array_filter(array_map('trim', explode("\n", $rendered)), 'strlen') ?: [$rendered];
        foreach (self::messagePatterns() as $entry) {
            foreach ($lines as $line) {
                if (preg_match('~' . str_replace('~', '\\~', $entry['pattern']) . '~u', $line)) {
                    return new Refusal($entry['code'], $rendered, $phase, null, null, $rendered);
                }
            }
        }
        if (($parameters['fieldName'] ?? null) === 'sku' && str_starts_with($message, 'No such entity')) {
            return new Refusal(RefusalCode::UNKNOWN_SKU, $rendered, $phase, null, null, $rendered);
        }
        return new Refusal(RefusalCode::COMMERCE_REFUSED, $rendered, $phase, null, null, $rendered);
    }
}
