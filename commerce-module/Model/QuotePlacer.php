<?php
declare(strict_types=1);

namespace WalmartSync\Marketplace\Model;

use Magento\Catalog\Api\ProductRepositoryInterface;
use Magento\Catalog\Model\Product;
use Magento\CatalogInventory\Api\StockStateInterface;
use Magento\Customer\Api\Data\GroupInterface;
use Magento\Directory\Model\RegionFactory;
use Magento\Framework\DataObject;
use Magento\Framework\Exception\LocalizedException;
use Magento\Framework\Exception\NoSuchEntityException;
use Magento\Quote\Api\CartManagementInterface;
use Magento\Quote\Api\CartRepositoryInterface;
use Magento\Quote\Model\Quote;
use Magento\Quote\Model\Quote\Item as QuoteItem;
use Magento\Quote\Model\QuoteFactory;
use Magento\Quote\Model\QuoteManagement;
use Magento\Sales\Api\Data\OrderInterface;
use Magento\Sales\Api\OrderRepositoryInterface;
use Magento\Sales\Model\Order;
use Magento\Store\Api\StoreRepositoryInterface;
use Magento\Store\Model\Store;
use Magento\Store\Model\StoreManagerInterface;
use Psr\Log\LoggerInterface;
use WalmartSync\Marketplace\Logic\LineMap;
use WalmartSync\Marketplace\Logic\MarketplaceQuotePolicy;
use WalmartSync\Marketplace\Logic\Money;
use WalmartSync\Marketplace\Logic\ModuleVersion;
use WalmartSync\Marketplace\Logic\OrderComment;
use WalmartSync\Marketplace\Logic\PlacedOrder;
use WalmartSync\Marketplace\Logic\ProductEligibility;
use WalmartSync\Marketplace\Logic\Refusal;
use WalmartSync\Marketplace\Logic\RefusalClassifier;
use WalmartSync\Marketplace\Logic\RefusalCode;
use WalmartSync\Marketplace\Logic\RefusedPlacement;
use WalmartSync\Marketplace\Logic\ValidatedLine;
use WalmartSync\Marketplace\Logic\ValidatedOrder;

/**
 * Builds a quote for a validated marketplace order with Magento's own quote services and submits it,
 * the way Magento\Sales\Model\AdminOrder\Create builds and submits an admin order:
 *
 * - a guest quote in the order's store, inactive (never a customer's cart), flagged
 *   walmartsync_marketplace, currency forced to the store's base currency (Walmart's amounts);
 * - every Walmart line its own item through Quote::addProduct() (so Magento's stock checks run),
 *   with Walmart's unit price as custom price (setCustomPrice/setOriginalCustomPrice, product super
 *   mode, no discount) and Walmart's tax in quote_item.walmartsync_tax_amount. An item option
 *   "walmartsync_line_number" keeps two lines of one SKU apart: Quote::getItemByProduct() would
 *   otherwise merge them (Quote\Item::representProduct() compares item options);
 * - Walmart's address as shipping and billing address (region resolved to region_id), the module's
 *   carrier (rate = Walmart's shipping charge) and payment method;
 * - totals collected, then compared with Walmart's (Logic\OrderAmounts): a cent of difference refuses;
 * - QuoteManagement::submit($quote, ['ext_order_id' => purchase order]), which copies quote_item.item_id
 *   into sales_order_item.quote_item_id: the line -> order item map is read from there.
 *
 * Refusals are thrown as Logic\RefusedPlacement with a classified Logic\Refusal.
 */
class QuotePlacer
{
    public const LINE_OPTION = 'walmartsync_line_number';

    public function __construct(
        private readonly StoreRepositoryInterface $storeRepository,
        private readonly StoreManagerInterface $storeManager,
        private readonly ProductRepositoryInterface $productRepository,
        private readonly StockStateInterface $stockState,
        private readonly QuoteFactory $quoteFactory,
        private readonly CartRepositoryInterface $cartRepository,
        private readonly QuoteManagement $quoteManagement,
        private readonly OrderRepositoryInterface $orderRepository,
        private readonly RegionFactory $regionFactory,
        private readonly Config $config,
        private readonly LoggerInterface $logger,
        private readonly ProductEligibility $eligibility,
        private readonly RefusalClassifier $classifier,
        private readonly WalmartFulfilledScope $wfsScope
    ) {
    }

    /**
     * @param callable(int $quoteId, string $lineMapJson, int $storeId): void $recordQuote runs once the
     *        quote is saved, before submitting; it throws when the claim is no longer this call's
     * @throws RefusedPlacement
     */
    public function place(ValidatedOrder $order, callable $recordQuote): PlacedOrder
    {
        $store = $this->store($order);
        $previousStore = $this->storeManager->getStore();
        $this->storeManager->setCurrentStore((int)$store->getId());
        try {
            return $this->placeInStore($order, $store, $recordQuote);
        } finally {
            $this->storeManager->setCurrentStore((int)$previousStore->getId());
        }
    }

    private function store(ValidatedOrder $order): Store
    {
        try {
            $storeId = (int)$this->storeRepository->get($order->storeCode)->getId();
            /** @var Store $store */
            $store = $this->storeManager->getStore($storeId);
        } catch (NoSuchEntityException $e) {
            throw $this->refuse(RefusalCode::STORE_NOT_FOUND, "no store has the code \"$order->storeCode\"",
                Refusal::PHASE_VALIDATION, null, $e->getMessage());
        }
        $base = (string)$store->getBaseCurrencyCode();
        if ($order->currencyCode !== null && $order->currencyCode !== $base) {
            throw $this->refuse(RefusalCode::CURRENCY_MISMATCH,
                "the order is in $order->currencyCode, store $order->storeCode's base currency is $base",
                Refusal::PHASE_VALIDATION);
        }
        return $store;
    }

    private function placeInStore(ValidatedOrder $order, Store $store, callable $recordQuote): PlacedOrder
    {
        $products = $this->products($order, $store);
        if (!$order->fulfilledByWalmart()) {  // WFS: Walmart ships it from its own stock
            $this->checkStock($order, $products, (int)$store->getWebsiteId());
        }

        $amounts = $order->amounts();
        $quote = $this->quoteFactory->create();
        $quote->setStore($store);
        $quote->setData('forced_currency', $store->getBaseCurrency());
        $quote->setIsActive(false);
        $quote->setCustomerIsGuest(true);
        $quote->setCustomerId(null);
        $quote->setCustomerEmail($order->customerEmail);
        $quote->setCustomerFirstname($order->customerFirstname);
        $quote->setCustomerLastname($order->customerLastname);
        $quote->setCustomerGroupId(GroupInterface::NOT_LOGGED_IN_ID);
        $quote->setCheckoutMethod(CartManagementInterface::METHOD_GUEST);
        $quote->setData(MarketplaceQuotePolicy::FLAG_FIELD, 1);
        $quote->setData('walmartsync_shipping_amount', Money::toFloat($amounts->shippingCents));
        $quote->setData('walmartsync_shipping_tax_amount', Money::toFloat($amounts->shippingTaxCents));
        $quote->setData('walmartsync_ship_method', $order->shippingMethodCode);
        $this->cartRepository->save($quote);

        $items = [];
        foreach ($order->lines as $line) {
            $items[$line->lineNumber] = $this->addLine($quote, $line, $products[$line->lineNumber]);
        }
        $this->setAddresses($quote, $order);
        try {
            $quote->getPayment()->importData(['method' => ModuleVersion::PAYMENT_METHOD_CODE]);
        } catch (LocalizedException $e) {
            throw $this->classified($e, Refusal::PHASE_PAYMENT);
        }

        $quote->setTotalsCollectedFlag(false);
        $quote->collectTotals();
        $this->checkCollected($quote, $order, $items);
        $this->cartRepository->save($quote);

        $quoteItemIds = [];
        foreach ($items as $lineNumber => $item) {
            $quoteItemIds[(string)$lineNumber] = (int)$item->getId();
        }
        $lineMap = LineMap::forLines($order->lines)->withQuoteItems($quoteItemIds);
        $recordQuote((int)$quote->getId(), $lineMap->toJson(), (int)$store->getId());

        try {
            $submit = fn () => $this->quoteManagement->submit($quote, ['ext_order_id' => $order->purchaseOrderId]);
            $placed = $order->fulfilledByWalmart() ? $this->wfsScope->run($submit) : $submit();
        } catch (LocalizedException $e) {
            throw new RefusedPlacement($this->classifier->classify($e->getRawMessage(), $e->getParameters(), null,
                Refusal::PHASE_PLACE), true, $e);
        }
        if (!$placed instanceof OrderInterface || !$placed->getEntityId()) {
            throw new RefusedPlacement(new Refusal(RefusalCode::COMMERCE_REFUSED,
                'QuoteManagement::submit() placed no order (the quote has no visible items)', Refusal::PHASE_PLACE), true);
        }
        $byQuoteItem = [];
        foreach ($placed->getItems() as $orderItem) {
            if ($orderItem->getQuoteItemId() && !$orderItem->getParentItemId()) {
                $byQuoteItem[(int)$orderItem->getQuoteItemId()] = (int)$orderItem->getItemId();
            }
        }
        $this->comment($placed, $order);
        return new PlacedOrder((int)$placed->getEntityId(), (string)$placed->getIncrementId(),
            $lineMap->withOrderItems($byQuoteItem), [
                'subtotal' => (float)$placed->getSubtotal(),
                'shipping_amount' => (float)$placed->getShippingAmount(),
                'tax_amount' => (float)$placed->getTaxAmount(),
                'grand_total' => (float)$placed->getGrandTotal(),
            ]);
    }

    /**
     * @return array<string, Product> by line number, each a fresh instance (forceReload)
     */
    private function products(ValidatedOrder $order, Store $store): array
    {
        $products = [];
        foreach ($order->lines as $line) {
            try {
                /** @var Product $product */
                $product = $this->productRepository->get($line->sku, false, (int)$store->getId(), true);
            } catch (NoSuchEntityException $e) {
                throw $this->refuse(RefusalCode::UNKNOWN_SKU, "no product has the SKU \"$line->sku\"",
                    Refusal::PHASE_PRODUCT, $line, $e->getMessage());
            }
            $code = $this->eligibility->check((string)$product->getTypeId(), (int)$product->getStatus(),
                (array)$product->getWebsiteIds(), (int)$store->getWebsiteId(), (bool)$product->getRequiredOptions());
            if ($code !== null) {
                $reason = match ($code) {
                    RefusalCode::PRODUCT_DISABLED => "product $line->sku is disabled in store $order->storeCode",
                    RefusalCode::PRODUCT_NOT_IN_WEBSITE => "product $line->sku is not assigned to the website of store $order->storeCode",
                    default => "product $line->sku is a {$product->getTypeId()} product or has required options",
                };
                throw $this->refuse($code, $reason, Refusal::PHASE_PRODUCT, $line);
            }
            $products[$line->lineNumber] = $product;
        }
        return $products;
    }

    /**
     * Stock first, per SKU over all its lines, through the API whose result carries an error code
     * (MSI's ProductSalabilityError code through its CheckQuoteItemQtyPlugin, or StockStateProvider's):
     * locale-independent, unlike the messages Quote::addProduct() throws.
     *
     * @param array<string, Product> $products
     */
    private function checkStock(ValidatedOrder $order, array $products, int $websiteId): void
    {
        foreach ($order->qtyBySku() as $sku => $qty) {
            $line = null;
            foreach ($order->lines as $candidate) {
                if ($candidate->sku === $sku) {
                    $line = $candidate;
                    break;
                }
            }
            $product = $products[$line->lineNumber];
            try {
                $result = $this->stockState->checkQuoteItemQty((int)$product->getId(), $qty, $qty, $qty, $websiteId);
            } catch (LocalizedException $e) {
                // Advisory only (e.g. MSI: "Can't check requested quantity for products without Source
                // Items support."): Quote::addProduct() below runs Magento's own checks anyway.
                $this->logger->info("walmart-sync: stock pre-check of $sku skipped: " . $e->getMessage());
                continue;
            }
            if ($result->getHasError()) {
                $code = $result->getErrorCode();
                throw new RefusedPlacement($this->classifier->classify((string)$result->getMessage(), [],
                    $code === null ? null : (string)$code, Refusal::PHASE_ADD_ITEM)->withLine($line->lineNumber, $sku));
            }
        }
    }

    private function addLine(Quote $quote, ValidatedLine $line, Product $product): QuoteItem
    {
        try {
            $item = $quote->addProduct($product, new DataObject(['qty' => $line->qty]));
        } catch (LocalizedException $e) {
            throw new RefusedPlacement($this->classifier->classify($e->getRawMessage(), $e->getParameters(), null,
                Refusal::PHASE_ADD_ITEM)->withLine($line->lineNumber, $line->sku), false, $e);
        }
        if (is_string($item)) {
            throw new RefusedPlacement($this->classifier->classify($item, [], null, Refusal::PHASE_ADD_ITEM)
                ->withLine($line->lineNumber, $line->sku));
        }
        $price = Money::toFloat($line->unitPriceCents);
        $item->setCustomPrice($price);
        $item->setOriginalCustomPrice($price);
        $item->getProduct()->setIsSuperMode(true);
        $item->setNoDiscount(true);
        $item->setData('walmartsync_tax_amount', Money::toFloat($line->taxCents));
        $item->addOption(['product_id' => (int)$product->getId(), 'code' => self::LINE_OPTION,
                          'value' => $line->lineNumber]);
        return $item;
    }

    private function setAddresses(Quote $quote, ValidatedOrder $order): void
    {
        $address = $order->shippingAddress;
        $data = [
            'firstname' => $address['firstname'],
            'lastname' => $address['lastname'],
            'street' => implode("\n", $address['street']),
            'city' => $address['city'],
            'postcode' => $address['postcode'],
            'country_id' => $address['country_id'],
            'telephone' => $address['telephone'],
            'email' => $order->customerEmail,
            'region' => $address['region'],
            'region_id' => null,
            'save_in_address_book' => 0,
            'same_as_billing' => 0,
        ];
        if ($address['region'] !== '') {
            $region = $this->regionFactory->create()->loadByCode($address['region'], $address['country_id']);
            if (!$region->getId()) {
                $region = $this->regionFactory->create()->loadByName($address['region'], $address['country_id']);
            }
            if ($region->getId()) {
                $data['region_id'] = (int)$region->getId();
                $data['region'] = (string)$region->getName();
            }
        }
        $quote->getBillingAddress()->addData($data);
        $shipping = $quote->getShippingAddress()->addData($data);
        $shipping->setCollectShippingRates(true);
        $shipping->setShippingMethod(ModuleVersion::CARRIER_CODE . '_' . $order->shippingMethodCode);
    }

    /**
     * @param array<string, QuoteItem> $items
     */
    private function checkCollected(Quote $quote, ValidatedOrder $order, array $items): void
    {
        foreach ($items as $lineNumber => $item) {
            if ($item->getHasError()) {
                $messages = [];
                foreach ((array)$item->getErrorInfos() as $info) {
                    $messages[] = (string)($info['message'] ?? '');
                }
                throw new RefusedPlacement($this->classifier->classify(implode("\n", array_filter($messages)), [],
                    null, Refusal::PHASE_TOTALS)->withLine((string)$lineNumber, (string)$item->getSku()));
            }
        }
        if ($quote->getHasError()) {
            $messages = array_map(static fn ($m): string => (string)$m->getText(), $quote->getErrors());
            throw new RefusedPlacement($this->classifier->classify(implode("\n", $messages), [], null,
                Refusal::PHASE_TOTALS));
        }
        $shipping = $quote->getShippingAddress();
        if (!$shipping->getShippingRateByCode((string)$shipping->getShippingMethod())) {
            throw $this->refuse(RefusalCode::SHIPPING_METHOD_UNAVAILABLE,
                'carrier ' . ModuleVersion::CARRIER_CODE . ' returned no rate (is it enabled?)', Refusal::PHASE_SHIPPING);
        }
        $mismatches = $order->amounts()->mismatches([
            'subtotal' => $quote->getSubtotal(),
            'shipping_amount' => $shipping->getShippingAmount(),
            'tax_amount' => $shipping->getTaxAmount(),
            'grand_total' => $quote->getGrandTotal(),
        ]);
        if ($mismatches) {
            throw new RefusedPlacement(new Refusal(RefusalCode::TOTALS_MISMATCH, implode('; ', $mismatches),
                Refusal::PHASE_TOTALS, null, null, null, $mismatches));
        }
    }

    private function comment(OrderInterface $placed, ValidatedOrder $order): void
    {
        if (!$this->config->addOrderComment()) {
            return;
        }
        if (!$placed instanceof Order) {
            return;
        }
        try {
            $placed->addCommentToStatusHistory(OrderComment::text($order));
            $this->orderRepository->save($placed);
        } catch (\Exception $e) {
            // The order exists; a missing comment must not turn the placement into a failure.
            $this->logger->warning('walmart-sync: could not add the Walmart comment to order '
                . $placed->getIncrementId() . ': ' . $e->getMessage());
        }
    }

    private function classified(LocalizedException $e, string $phase): RefusedPlacement
    {
        return new RefusedPlacement($this->classifier->classify($e->getRawMessage(), $e->getParameters(), null, $phase),
            false, $e);
    }

    private function refuse(string $code, string $reason, string $phase, ?ValidatedLine $line = null,
                            ?string $magentoMessage = null): RefusedPlacement
    {
        return new RefusedPlacement(new Refusal($code, $reason, $phase, $line?->lineNumber, $line?->sku, $magentoMessage));
    }
}
