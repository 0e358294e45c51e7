<?php
declare(strict_types=1);

namespace WalmartSync\Marketplace\Logic;

/**
 * A marketplace order that passed OrderRequestValidator: trimmed, typed, amounts in cents.
 */
final class ValidatedOrder
{
    public const SELLER_FULFILLED = 'SellerFulfilled';
    /** Walmart Fulfillment Services: Walmart ships from its own stock, Commerce only records the sale. */
    public const WFS_FULFILLED = 'WFSFulfilled';
    public const FULFILLMENTS = [self::SELLER_FULFILLED, self::WFS_FULFILLED];

    /**
     * @param array<string, mixed> $shippingAddress firstname, lastname, street (string[]), city, region,
     *                                              postcode, country_id, telephone
     * @param ValidatedLine[] $lines
     */
    public function __construct(
        public readonly string $purchaseOrderId,
        public readonly string $customerOrderId,
        /** UTC, "Y-m-d H:i:s" */
        public readonly string $orderDate,
        public readonly string $storeCode,
        public readonly ?string $currencyCode,
        public readonly string $customerEmail,
        public readonly string $customerFirstname,
        public readonly string $customerLastname,
        public readonly array $shippingAddress,
        public readonly array $lines,
        public readonly string $shipMethod,
        public readonly string $shippingMethodCode,
        public readonly ?string $estimatedShipDate,
        public readonly ?string $estimatedDeliveryDate,
        public readonly string $fulfillment = self::SELLER_FULFILLED,
        public readonly string $shipNode = '',
        public readonly string $sourceCode = ''
    ) {
    }

    /** Walmart ships it from its own stock: no stock check, no reservation, nothing to ship here. */
    public function fulfilledByWalmart(): bool
    {
        return $this->fulfillment === self::WFS_FULFILLED;
    }

    public function amounts(): OrderAmounts
    {
        return OrderAmounts::of($this->lines);
    }

    /**
     * Total quantity per SKU: two Walmart lines may order the same SKU, and stock is checked on the sum.
     *
     * @return array<string, int>
     */
    public function qtyBySku(): array
    {
        $qty = [];
        foreach ($this->lines as $line) {
            $qty[$line->sku] = ($qty[$line->sku] ?? 0) + $line->qty;
        }
        return $qty;
    }

    /**
     * Canonical form: what RequestFingerprint hashes and what the order comment describes.
     *
     * @return array<string, mixed>
     */
    public function toArray(): array
    {
        return [
            'purchase_order_id' => $this->purchaseOrderId,
            'customer_order_id' => $this->customerOrderId,
            'order_date' => $this->orderDate,
            'store_code' => $this->storeCode,
            'currency_code' => $this->currencyCode,
            'customer_email' => $this->customerEmail,
            'customer_firstname' => $this->customerFirstname,
            'customer_lastname' => $this->customerLastname,
            'shipping_address' => $this->shippingAddress,
            'ship_method' => $this->shipMethod,
            'estimated_ship_date' => $this->estimatedShipDate,
            'estimated_delivery_date' => $this->estimatedDeliveryDate,
            'shipping_method_code' => $this->shippingMethodCode,
            'fulfillment' => $this->fulfillment,
            'ship_node' => $this->shipNode,
            'source_code' => $this->sourceCode,
            'lines' => array_map(static fn (ValidatedLine $line): array => $line->toArray(), $this->lines),
        ];
    }
}
