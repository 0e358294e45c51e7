<?php
declare(strict_types=1);

namespace WalmartSync\Marketplace\Logic;

/**
 * One Walmart order line as it will be ordered in Commerce: amounts in cents.
 */
final class ValidatedLine
{
    public function __construct(
        public readonly string $lineNumber,
        public readonly string $sku,
        public readonly int $qty,
        public readonly int $unitPriceCents,
        /** Walmart's product tax for this quantity of the line (not per unit: no rounding to redistribute). */
        public readonly int $taxCents,
        public readonly int $shippingCents,
        public readonly int $shippingTaxCents
    ) {
    }

    public function rowTotalCents(): int
    {
        return $this->unitPriceCents * $this->qty;
    }

    /**
     * @return array<string, mixed>
     */
    public function toArray(): array
    {
        return [
            'line_number' => $this->lineNumber,
            'sku' => $this->sku,
            'qty' => $this->qty,
            'unit_price' => Money::format($this->unitPriceCents),
            'tax_amount' => Money::format($this->taxCents),
            'shipping_amount' => Money::format($this->shippingCents),
            'shipping_tax_amount' => Money::format($this->shippingTaxCents),
        ];
    }
}
