<?php
/**
 * walmart-sync companion module for Adobe Commerce / Magento Open Source.
 */
declare(strict_types=1);

namespace WalmartSync\Marketplace\Logic;

/**
 * The module's identity as reported by GET /V1/walmart-sync/module.
 *
 * Everything under Logic/ is plain PHP: no Magento class is referenced, so it runs under PHPUnit
 * without Magento (Test/Unit/LogicIsFrameworkFreeTest enforces it).
 */
final class ModuleVersion
{
    public const MODULE_NAME = 'WalmartSync_Marketplace';

    /** Kept equal to composer.json "version" (Test/Unit/ContractTest checks it). */
    public const VERSION = '0.1.0';

    public const PAYMENT_METHOD_CODE = 'walmartsync_marketplace';

    public const CARRIER_CODE = 'walmartsync';

    /** Method used when the caller names no Walmart ship method (the cart flow with its own method code). */
    public const DEFAULT_METHOD_CODE = 'marketplace';

    /**
     * What a caller may rely on; the sidecar's `config check --connect` compares against this list.
     *
     * @return string[]
     */
    public static function capabilities(): array
    {
        return [
            'marketplace_order_placement',      // POST /V1/walmart-sync/orders, idempotent per purchase order
            'marketplace_order_lookup',         // GET /V1/walmart-sync/orders/:purchaseOrderId
            'order_item_line_mapping',          // results carry Walmart line -> sales_order_item.item_id
            'cart_item_price_override',         // cartItem.price becomes the item's custom price
            'cart_item_tax_amount',             // cartItem.extension_attributes.tax_amount
            'shipping_information_amounts',     // addressInformation.extension_attributes.shipping_amount(+_tax)
            'payment_method:' . self::PAYMENT_METHOD_CODE,
            'carrier:' . self::CARRIER_CODE,
        ];
    }
}
