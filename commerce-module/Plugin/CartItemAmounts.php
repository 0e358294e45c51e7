<?php
declare(strict_types=1);

namespace WalmartSync\Marketplace\Plugin;

use Magento\Quote\Api\CartItemRepositoryInterface;
use Magento\Quote\Api\CartRepositoryInterface;
use Magento\Quote\Api\Data\CartItemInterface;
use Magento\Quote\Model\Quote\Item as QuoteItem;
use WalmartSync\Marketplace\Logic\MarketplaceQuotePolicy;
use WalmartSync\Marketplace\Logic\Money;

/**
 * POST /V1/carts/:cartId/items with cartItem.price and cartItem.extension_attributes.tax_amount (the
 * sidecar's cart flow). Stock Magento accepts "price" (CartItemInterface has setPrice()) but
 * Quote\Item\CartItemPersister adds the product by SKU and the totals price it from the catalogue.
 * Here the saved item gets the price as custom price (as Magento\Sales\Model\AdminOrder\Create does
 * for an admin's custom price) and the tax in quote_item.walmartsync_tax_amount, and the quote is
 * flagged a marketplace quote; Model\Total\MarketplaceAmounts applies the tax.
 *
 * Limitation of the cart flow: Magento merges two adds of one SKU into one item, so two Walmart lines
 * of one SKU at different prices cannot be told apart; POST /V1/walmart-sync/orders keeps them apart.
 */
class CartItemAmounts
{
    public function __construct(
        private readonly CartAmountsGate $gate,
        private readonly CartRepositoryInterface $cartRepository
    ) {
    }

    /**
     * @return CartItemInterface
     */
    public function aroundSave(CartItemRepositoryInterface $subject, callable $proceed, CartItemInterface $cartItem)
    {
        $price = $cartItem->getPrice();
        $extension = $cartItem->getExtensionAttributes();
        $tax = $extension !== null && method_exists($extension, 'getTaxAmount') ? $extension->getTaxAmount() : null;
        if (($price === null && $tax === null) || !$this->gate->allowed()) {
            return $proceed($cartItem);
        }
        $saved = $proceed($cartItem);
        $quote = $this->cartRepository->get((int)$saved->getQuoteId());
        $item = $quote->getItemById((int)$saved->getItemId());
        if (!$item instanceof QuoteItem) {
            return $saved;
        }
        if ($price !== null) {
            $unit = Money::toFloat(Money::toCents((float)$price));
            $item->setCustomPrice($unit);
            $item->setOriginalCustomPrice($unit);
            $item->getProduct()->setIsSuperMode(true);
            $item->setNoDiscount(true);
        }
        $item->setData('walmartsync_tax_amount', Money::toFloat(Money::toCents((float)($tax ?? 0))));
        $quote->setData(MarketplaceQuotePolicy::FLAG_FIELD, 1);
        $quote->setTotalsCollectedFlag(false);
        $quote->collectTotals();
        $this->cartRepository->save($quote);
        return $item;
    }
}
