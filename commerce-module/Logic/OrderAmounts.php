<?php
declare(strict_types=1);

namespace WalmartSync\Marketplace\Logic;

/**
 * The Commerce order totals a marketplace order must end up with, computed from Walmart's figures.
 *
 * Walmart collects and remits the tax (marketplace facilitator), so tax is Walmart's, never Magento's
 * tax rules; shipping is the sum of the lines' SHIPPING charges. After Magento collected the quote's
 * totals the placement compares them with these (mismatches()) and refuses to place an order whose
 * totals differ by even a cent (a cart price rule, FPT or price-includes-tax configuration would).
 */
final class OrderAmounts
{
    private function __construct(
        public readonly int $subtotalCents,
        public readonly int $itemsTaxCents,
        public readonly int $shippingCents,
        public readonly int $shippingTaxCents
    ) {
    }

    /**
     * @param ValidatedLine[] $lines
     */
    public static function of(array $lines): self
    {
        $subtotal = $tax = $shipping = $shippingTax = 0;
        foreach ($lines as $line) {
            $subtotal += $line->rowTotalCents();
            $tax += $line->taxCents;
            $shipping += $line->shippingCents;
            $shippingTax += $line->shippingTaxCents;
        }
        return new self($subtotal, $tax, $shipping, $shippingTax);
    }

    public function taxCents(): int
    {
        return $this->itemsTaxCents + $this->shippingTaxCents;
    }

    public function grandTotalCents(): int
    {
        return $this->subtotalCents + $this->shippingCents + $this->taxCents();
    }

    /**
     * @return array<string, string> what the order should carry, as decimal strings
     */
    public function toArray(): array
    {
        return [
            'subtotal' => Money::format($this->subtotalCents),
            'shipping_amount' => Money::format($this->shippingCents),
            'tax_amount' => Money::format($this->taxCents()),
            'grand_total' => Money::format($this->grandTotalCents()),
        ];
    }

    /**
     * @param array<string, int|float|string|null> $actual Magento's figures: subtotal, shipping_amount,
     *                                                     tax_amount, grand_total
     * @return string[] one sentence per total that differs; empty when everything matches
     */
    public function mismatches(array $actual): array
    {
        $problems = [];
        foreach ($this->toArray() as $field => $expected) {
            $got = Money::toCents($actual[$field] ?? 0);
            if ($got !== Money::toCents($expected)) {
                $problems[] = sprintf('%s is %s, Walmart says %s', $field, Money::format($got), $expected);
            }
        }
        return $problems;
    }
}
