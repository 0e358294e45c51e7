<?php
declare(strict_types=1);

namespace WalmartSync\Marketplace\Observer;

use Magento\Framework\App\State;
use Magento\Framework\Event\Observer;
use Magento\Framework\Event\ObserverInterface;
use Magento\Payment\Model\MethodInterface;
use Magento\Quote\Model\Quote;
use WalmartSync\Marketplace\Logic\MarketplaceQuotePolicy;
use WalmartSync\Marketplace\Logic\ModuleVersion;

/**
 * payment_method_is_active (dispatched by Magento\Payment\Model\Method\Adapter::isAvailable() and
 * AbstractMethod::isAvailable()): walmartsync_marketplace is available for marketplace quotes and in
 * the admin order-create screen only, never in the storefront checkout or a shopper's REST cart.
 */
class RestrictMarketplacePayment implements ObserverInterface
{
    public function __construct(private readonly State $appState)
    {
    }

    public function execute(Observer $observer)
    {
        $method = $observer->getEvent()->getData('method_instance');
        if (!$method instanceof MethodInterface || $method->getCode() !== ModuleVersion::PAYMENT_METHOD_CODE) {
            return;
        }
        $quote = $observer->getEvent()->getData('quote');
        $marketplace = $quote instanceof Quote
            && MarketplaceQuotePolicy::isMarketplace($quote->getData(MarketplaceQuotePolicy::FLAG_FIELD));
        try {
            $area = (string)$this->appState->getAreaCode();
        } catch (\Magento\Framework\Exception\LocalizedException $e) {
            $area = '';
        }
        if (!MarketplaceQuotePolicy::paymentAvailable($marketplace, $area)) {
            $observer->getEvent()->getData('result')->setData('is_available', false);
        }
    }
}
