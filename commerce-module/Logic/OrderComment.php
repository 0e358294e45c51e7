<?php
declare(strict_types=1);

namespace WalmartSync\Marketplace\Logic;

/**
 * The status-history comment a placed marketplace order gets, so the merchant sees where it came from,
 * the Walmart service level and the dates Walmart promised the customer.
 */
final class OrderComment
{
    public static function text(ValidatedOrder $order): string
    {
        $parts = [sprintf('Walmart purchase order %s', $order->purchaseOrderId)];
        if ($order->customerOrderId !== '') {
            $parts[] = sprintf('customer order %s', $order->customerOrderId);
        }
        if ($order->shipMethod !== '') {
            $parts[] = sprintf('ship method %s', $order->shipMethod);
        }
        if ($order->estimatedShipDate !== null) {
            $parts[] = sprintf('ship by %s UTC', $order->estimatedShipDate);
        }
        if ($order->estimatedDeliveryDate !== null) {
            $parts[] = sprintf('deliver by %s UTC', $order->estimatedDeliveryDate);
        }
        if ($order->fulfilledByWalmart()) {
            $parts[] = 'fulfilled by Walmart (WFS): Walmart ships it from its own stock, do not ship it here';
        }
        if ($order->shipNode !== '') {
            $parts[] = sprintf('ship node %s', $order->shipNode)
                . ($order->sourceCode !== '' ? sprintf(' (source %s)', $order->sourceCode) : '');
        }
        $lines = array_map(static fn (ValidatedLine $l): string => sprintf('line %s: %d x %s', $l->lineNumber,
            $l->qty, $l->sku), $order->lines);
        return implode(', ', $parts) . '. ' . implode('; ', $lines) . '. Placed by walmart-sync; tax is '
            . "Walmart's (marketplace facilitator).";
    }
}
