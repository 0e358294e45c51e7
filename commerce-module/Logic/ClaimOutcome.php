<?php
declare(strict_types=1);

namespace WalmartSync\Marketplace\Logic;

/**
 * ClaimCoordinator::begin() result: either this call places the order (placeNow(), with its token),
 * or the answer is already known (existing order, in progress, order deleted).
 */
final class ClaimOutcome
{
    public const PLACE = 'place';
    public const EXISTING = 'existing';
    public const IN_PROGRESS = 'in_progress';
    public const ORDER_DELETED = 'order_deleted';

    private function __construct(
        public readonly string $kind,
        public readonly ?string $token = null,
        public readonly int $attempts = 0,
        public readonly ?int $orderId = null,
        /** EXISTING: the order was found for a stale claim and adopted by this call */
        public readonly bool $adopted = false,
        /** EXISTING: the request now is the one that was placed */
        public readonly bool $sameRequest = true,
        public readonly int $retryAfterSeconds = 0
    ) {
    }

    public static function place(string $token, int $attempts): self
    {
        return new self(self::PLACE, $token, $attempts);
    }

    public static function existing(int $orderId, int $attempts, bool $sameRequest, bool $adopted = false): self
    {
        return new self(self::EXISTING, null, $attempts, $orderId, $adopted, $sameRequest);
    }

    public static function inProgress(int $attempts, int $retryAfterSeconds): self
    {
        return new self(self::IN_PROGRESS, null, $attempts, null, false, true, $retryAfterSeconds);
    }

    public static function orderDeleted(int $attempts): self
    {
        return new self(self::ORDER_DELETED, null, $attempts);
    }

    public function placeNow(): bool
    {
        return $this->kind === self::PLACE;
    }
}
