<?php
declare(strict_types=1);

namespace WalmartSync\Marketplace\Model\Total;

use Magento\Quote\Api\Data\ShippingAssignmentInterface;
use Magento\Quote\Model\Quote;
use Magento\Quote\Model\Quote\Address\Total;
use Magento\Quote\Model\Quote\Address\Total\AbstractTotal;
use WalmartSync\Marketplace\Logic\MarketplaceQuotePolicy;
use WalmartSync\Marketplace\Logic\Money;

/**
 * Quote total collector "walmartsync_amounts" (etc/sales.xml, sort order 460: after Magento's "tax"
 * at 450, before "grand_total" at 550).
 *
 * On a marketplace quote the tax is Walmart's (it collects and remits it as marketplace facilitator):
 * every item's tax becomes quote_item.walmartsync_tax_amount, the shipping tax
 * quote.walmartsync_shipping_tax_amount, and the "tax" total their sum, whatever Magento's tax rules
 * computed; the shipping amount becomes quote.walmartsync_shipping_amount, whatever carrier was
 * chosen. Total::setTotalAmount('tax'|'shipping') also sets tax_amount/shipping_amount, which
 * TotalsCollector copies onto the address and Quote\Address\ToOrder onto the order. Applied taxes are
 * cleared, so no sales_order_tax row claims one of Magento's rates produced the figure.
 *
 * Assumes catalogue prices excluding tax (the US default); with prices including tax the totals
 * would not add up and the module's placement refuses with TOTALS_MISMATCH.
 */
class MarketplaceAmounts extends AbstractTotal
{
    public function __construct()
    {
        $this->setCode('walmartsync_amounts');
    }

    /**
     * @param Quote $quote
     * @param ShippingAssignmentInterface $shippingAssignment
     * @param Total $total
     * @return $this
     */
    public function collect(Quote $quote, ShippingAssignmentInterface $shippingAssignment, Total $total)
    {
        // No parent::collect(): it would reset this collector's own amount, which is never used.
        if (!MarketplaceQuotePolicy::isMarketplace($quote->getData(MarketplaceQuotePolicy::FLAG_FIELD))) {
            return $this;
        }
        $items = $shippingAssignment->getItems();
        if (!$items) {
            return $this; // the billing address of a physical quote carries no items
        }
        $itemsTaxCents = 0;
        foreach ($items as $item) {
            if ($item->getParentItem()) {
                continue;
            }
            $taxCents = Money::toCents((float)($item->getData('walmartsync_tax_amount') ?? 0));
            $tax = Money::toFloat($taxCents);
            $rowTotal = (float)$item->getRowTotal();
            $qty = (float)$item->getQty();
            $price = (float)$item->getCalculationPrice();
            $item->setTaxAmount($tax);
            $item->setBaseTaxAmount($tax);
            $item->setTaxPercent($rowTotal > 0 ? round($tax / $rowTotal * 100, 4) : 0);
            $item->setPriceInclTax(round($price + ($qty > 0 ? $tax / $qty : 0), 2));
            $item->setBasePriceInclTax(round($price + ($qty > 0 ? $tax / $qty : 0), 2));
            $item->setRowTotalInclTax($rowTotal + $tax);
            $item->setBaseRowTotalInclTax($rowTotal + $tax);
            $item->setDiscountTaxCompensationAmount(0);
            $item->setBaseDiscountTaxCompensationAmount(0);
            $item->setAppliedTaxes([]);
            $itemsTaxCents += $taxCents;
        }

        $shippingCents = Money::toCents((float)($total->getShippingAmount() ?? 0));
        if ($quote->getData('walmartsync_shipping_amount') !== null) {
            $shippingCents = Money::toCents((float)$quote->getData('walmartsync_shipping_amount'));
            $shipping = Money::toFloat($shippingCents);
            $total->setTotalAmount('shipping', $shipping);
            $total->setBaseTotalAmount('shipping', $shipping);
        }
        $shippingTaxCents = Money::toCents((float)($quote->getData('walmartsync_shipping_tax_amount') ?? 0));
        $tax = Money::toFloat($itemsTaxCents + $shippingTaxCents);
        $total->setTotalAmount('tax', $tax);
        $total->setBaseTotalAmount('tax', $tax);
        $total->setTotalAmount('discount_tax_compensation', 0);
        $total->setBaseTotalAmount('discount_tax_compensation', 0);
        $total->setTotalAmount('shipping_discount_tax_compensation', 0);
        $total->setBaseTotalAmount('shipping_discount_tax_compensation', 0);
        $total->setShippingTaxAmount(Money::toFloat($shippingTaxCents));
        $total->setBaseShippingTaxAmount(Money::toFloat($shippingTaxCents));
        $total->setShippingInclTax(Money::toFloat($shippingCents + $shippingTaxCents));
        $total->setBaseShippingInclTax(Money::toFloat($shippingCents + $shippingTaxCents));
        $subtotalCents = Money::toCents((float)($total->getSubtotal() ?? 0));
        $total->setSubtotalInclTax(Money::toFloat($subtotalCents + $itemsTaxCents));
        $total->setBaseSubtotalInclTax(Money::toFloat($subtotalCents + $itemsTaxCents));
        $total->setAppliedTaxes([]);
        $total->setItemsAppliedTaxes([]);
        return $this;
    }

    /**
     * Nothing to show: the amounts appear as Magento's own Tax and Shipping lines.
     *
     * @param Quote $quote
     * @param Total $total
     * @return array<int, mixed>
     */
    public function fetch(Quote $quote, Total $total)
    {
        return [];
    }
}
