<?php
declare(strict_types=1);

namespace WalmartSync\Marketplace\Observer;

use Magento\Framework\Event\Observer;
use Magento\Framework\Event\ObserverInterface;
use Magento\Quote\Model\Quote;
use Magento\Sales\Model\Order;
use WalmartSync\Marketplace\Logic\MarketplaceQuotePolicy;
use WalmartSync\Marketplace\Model\Config;

/**
 * sales_model_service_quote_submit_before (QuoteManagement::submitQuote()): a marketplace order sends
 * no new-order e-mail (the address is Walmart's relay; Walmart informs its customer) unless the
 * merchant turned walmart_sync/orders/send_order_email on. Magento\Quote\Observer\SubmitObserver
 * sends the e-mail only when Order::getCanSendNewEmailFlag() is true.
 */
class PrepareMarketplaceOrder implements ObserverInterface
{
    public function __construct(private readonly Config $config)
    {
    }

    public function execute(Observer $observer)
    {
        $quote = $observer->getEvent()->getData('quote');
        $order = $observer->getEvent()->getData('order');
        if (!$quote instanceof Quote || !$order instanceof Order
            || !MarketplaceQuotePolicy::isMarketplace($quote->getData(MarketplaceQuotePolicy::FLAG_FIELD))) {
            return;
        }
        if (!$this->config->sendOrderEmail()) {
            $order->setCanSendNewEmailFlag(false);
        }
    }
}
