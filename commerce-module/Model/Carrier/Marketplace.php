<?php
declare(strict_types=1);

namespace WalmartSync\Marketplace\Model\Carrier;

use Magento\Framework\App\Config\ScopeConfigInterface;
use Magento\Quote\Model\Quote;
use Magento\Quote\Model\Quote\Address\RateRequest;
use Magento\Quote\Model\Quote\Address\RateResult\ErrorFactory;
use Magento\Quote\Model\Quote\Address\RateResult\MethodFactory;
use Magento\Shipping\Model\Carrier\AbstractCarrier;
use Magento\Shipping\Model\Carrier\CarrierInterface;
use Magento\Shipping\Model\Rate\ResultFactory;
use Psr\Log\LoggerInterface;
use WalmartSync\Marketplace\Logic\MarketplaceQuotePolicy;
use WalmartSync\Marketplace\Logic\ModuleVersion;
use WalmartSync\Marketplace\Logic\ShippingMethodCode;

/**
 * Carrier "walmartsync": one rate, the shipping Walmart charged the customer (quote column
 * walmartsync_shipping_amount, 0 when absent), under the Walmart ship method's code
 * (walmartsync_walmart_standard...). Modelled on Magento\OfflineShipping\Model\Carrier\Flatrate.
 *
 * It answers only for marketplace quotes, so the storefront never offers it (collectRates() returning
 * false hides a carrier, as Flatrate does when inactive).
 */
class Marketplace extends AbstractCarrier implements CarrierInterface
{
    /**
     * @var string
     */
    protected $_code = ModuleVersion::CARRIER_CODE;

    /**
     * @var bool
     */
    protected $_isFixed = true;

    public function __construct(
        ScopeConfigInterface $scopeConfig,
        ErrorFactory $rateErrorFactory,
        LoggerInterface $logger,
        private readonly ResultFactory $rateResultFactory,
        private readonly MethodFactory $rateMethodFactory,
        array $data = []
    ) {
        parent::__construct($scopeConfig, $rateErrorFactory, $logger, $data);
    }

    /**
     * @param RateRequest $request
     * @return \Magento\Shipping\Model\Rate\Result|bool
     */
    public function collectRates(RateRequest $request)
    {
        if (!$this->getConfigFlag('active')) {
            return false;
        }
        $quote = $this->quoteOf($request);
        if ($quote === null
            || !MarketplaceQuotePolicy::carrierAvailable(MarketplaceQuotePolicy::isMarketplace(
                $quote->getData(MarketplaceQuotePolicy::FLAG_FIELD)))) {
            return false;
        }
        $methodCode = (string)($quote->getData('walmartsync_ship_method') ?: ModuleVersion::DEFAULT_METHOD_CODE);
        $price = (float)($quote->getData('walmartsync_shipping_amount') ?? 0);

        $result = $this->rateResultFactory->create();
        $method = $this->rateMethodFactory->create();
        $method->setCarrier($this->_code);
        $method->setCarrierTitle($this->getConfigData('title'));
        $method->setMethod($methodCode);
        $method->setMethodTitle(ShippingMethodCode::title($methodCode));
        $method->setPrice($price);
        $method->setCost($price);
        $result->append($method);
        return $result;
    }

    /**
     * @return array<string, string>
     */
    public function getAllowedMethods()
    {
        return [ModuleVersion::DEFAULT_METHOD_CODE => (string)$this->getConfigData('name')];
    }

    private function quoteOf(RateRequest $request): ?Quote
    {
        foreach ((array)$request->getAllItems() as $item) {
            $quote = $item->getQuote();
            if ($quote instanceof Quote) {
                return $quote;
            }
        }
        return null;
    }
}
