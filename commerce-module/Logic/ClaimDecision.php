<?php
declare(strict_types=1);

namespace WalmartSync\Marketplace\Logic;

/**
 * What a call for a purchase order must do, given the claim row it found.
 */
final class ClaimDecision
{
    /** No row yet: INSERT the claim (a unique key on purchase_order_id makes one caller win). */
    public const INSERT = 'insert';
    /** A failed attempt: take the row back to "placing" (compare-and-set) and place again. */
    public const RETRY = 'retry';
    /** A stale "placing" row with no order behind it: take it over (compare-and-set) and place. */
    public const TAKE_OVER = 'take_over';
    /** Placed: answer with the existing order, place nothing. */
    public const EXISTING = 'existing';
    /** A stale "placing" row: first look for an order carrying the purchase order (a crash after Magento placed it). */
    public const RECOVER = 'recover';
    /** An order was found for a stale claim: record it as placed and answer with it. */
    public const ADOPT = 'adopt';
    /** Another call is placing this purchase order right now: answer 409, place nothing. */
    public const IN_PROGRESS = 'in_progress';
    /** Placed, but the order was deleted in Commerce since: refuse, never place a second one. */
    public const ORDER_DELETED = 'order_deleted';

    private function __construct(
        public readonly string $action,
        public readonly ?int $orderId = null,
        public readonly int $retryAfterSeconds = 0
    ) {
    }

    public static function of(string $action, ?int $orderId = null, int $retryAfterSeconds = 0): self
    {
        return new self($action, $orderId, $retryAfterSeconds);
    }

    /** Whether this call goes on to build a quote and place an order. */
    public function places(): bool
    {
        return in_array($this->action, [self::INSERT, self::RETRY, self::TAKE_OVER], true);
    }
}
