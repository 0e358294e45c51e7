<?php
declare(strict_types=1);

namespace WalmartSync\Marketplace\Plugin;

use Magento\Checkout\Api\Data\ShippingInformationInterface;
use Magento\Checkout\Api\ShippingInformationManagementInterface;
use Magento\Quote\Api\CartRepositoryInterface;
use WalmartSync\Marketplace\Logic\MarketplaceQuotePolicy;
use WalmartSync\Marketplace\Logic\ModuleVersion;
use WalmartSync\Marketplace\Logic\Money;
use WalmartSync\Marketplace\Logic\ShippingMethodCode;

/**
 * POST /V1/carts/:cartId/shipping-information with addressInformation.extension_attributes
 * .shipping_amount / shipping_tax_amount: stored on the quote before
 * Magento\Checkout\Model\ShippingInformationManagement::saveAddressInformation() runs. That method
 * loads the quote through the same CartRepositoryInterface (whose QuoteRepository keeps loaded quotes),
 * collects rates (the walmartsync carrier quotes walmartsync_shipping_amount) and saves the quote.
 */
class ShippingInformationAmounts
{
    public function __construct(
        private readonly CartAmountsGate $gate,
        private readonly CartRepositoryInterface $cartRepository
    ) {
    }

    /**
     * @param int $cartId
     * @return null arguments unchanged
     */
    public function beforeSaveAddressInformation(ShippingInformationManagementInterface $subject, $cartId,
                                                 ShippingInformationInterface $addressInformation)
    {
        $extension = $addressInformation->getExtensionAttributes();
        if ($extension === null || !method_exists($extension, 'getShippingAmount')) {
            return null;
        }
        $amount = $extension->getShippingAmount();
        $tax = $extension->getShippingTaxAmount();
        if (($amount === null && $tax === null) || !$this->gate->allowed()) {
            return null;
        }
        $quote = $this->cartRepository->getActive((int)$cartId);
        $quote->setData(MarketplaceQuotePolicy::FLAG_FIELD, 1);
        $quote->setData('walmartsync_shipping_amount', Money::toFloat(Money::toCents((float)($amount ?? 0))));
        $quote->setData('walmartsync_shipping_tax_amount', Money::toFloat(Money::toCents((float)($tax ?? 0))));
        $method = (string)$addressInformation->getShippingMethodCode();
        if ($addressInformation->getShippingCarrierCode() === ModuleVersion::CARRIER_CODE
            && ShippingMethodCode::isValid($method)) {
            $quote->setData('walmartsync_ship_method', $method);
        }
        return null;
    }
}
