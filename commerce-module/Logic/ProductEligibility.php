<?php
declare(strict_types=1);

namespace WalmartSync\Marketplace\Logic;

/**
 * Checks a line's product before it goes into the quote, so refusals Magento would only word as
 * "Product that you are trying to add is not available." (Quote::addProduct, for any product whose
 * isSalable() is false) get a precise code instead.
 */
final class ProductEligibility
{
    /** Magento\Catalog\Model\Product\Attribute\Source\Status::STATUS_ENABLED */
    public const STATUS_ENABLED = 1;

    /** Product types a Walmart SKU can be ordered as without choosing options. */
    public const ORDERABLE_TYPES = ['simple', 'virtual', 'downloadable'];

    /**
     * @param int[] $productWebsiteIds
     */
    public function check(string $typeId, int $status, array $productWebsiteIds, int $storeWebsiteId,
                          bool $hasRequiredOptions): ?string
    {
        if (!in_array($typeId, self::ORDERABLE_TYPES, true) || $hasRequiredOptions) {
            return RefusalCode::PRODUCT_OPTIONS_REQUIRED;
        }
        if ($status !== self::STATUS_ENABLED) {
            return RefusalCode::PRODUCT_DISABLED;
        }
        if (!in_array($storeWebsiteId, array_map('intval', $productWebsiteIds), true)) {
            return RefusalCode::PRODUCT_NOT_IN_WEBSITE;
        }
        return null;
    }
}
