<?php
declare(strict_types=1);

namespace WalmartSync\Marketplace\Plugin;

use Magento\Quote\Api\Data\ShippingAssignmentInterface;
use Magento\Quote\Model\Quote;
use Magento\Quote\Model\Quote\Address\Total;
use Magento\SalesRule\Model\Quote\Discount;
use WalmartSync\Marketplace\Logic\MarketplaceQuotePolicy;

/**
 * Walmart's prices are what the customer paid: the cart price rule collector does not run on a
 * marketplace quote (a storewide "10% off" rule would otherwise discount Walmart orders). The items
 * are also flagged no_discount; this covers rules that discount shipping or the whole cart.
 */
class SkipDiscountOnMarketplaceQuotes
{
    /**
     * @return Discount
     */
    public function aroundCollect(Discount $subject, callable $proceed, Quote $quote,
                                  ShippingAssignmentInterface $shippingAssignment, Total $total)
    {
        if (MarketplaceQuotePolicy::isMarketplace($quote->getData(MarketplaceQuotePolicy::FLAG_FIELD))) {
            return $subject;
        }
        return $proceed($quote, $shippingAssignment, $total);
    }
}
