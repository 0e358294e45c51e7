<?php
declare(strict_types=1);

namespace WalmartSync\Marketplace\Logic;

use LogicException;

/**
 * Exactly-once placement per Walmart purchase order.
 *
 *     (none) --claim--> placing --placed--> placed
 *                          |  \--failed--> failed --retry--> placing
 *                          \--stale, no order found--> placing (taken over by a new call)
 *                          \--stale, order found--> placed (adopted)
 *
 * The claim row is INSERTed (unique purchase_order_id) and committed before Magento is asked to place
 * anything, so a concurrent or retried call for the same purchase order finds it and never places a
 * second order: it gets the placed order, or "placement in progress" while the first call runs.
 *
 * A call that dies between Magento placing the order and the claim being marked placed leaves a
 * "placing" row; once it is older than the stale threshold a later call first looks for the order
 * (sales_order.ext_order_id = purchase order, set by the placement itself, or the claim's quote id)
 * and adopts it. Only when no order exists is the claim taken over and the order placed.
 *
 * Ages come from the database clock (TIMESTAMPDIFF against NOW()), never from PHP's, so web nodes
 * with skewed clocks agree.
 */
final class ClaimStateMachine
{
    public const STATE_PLACING = 'placing';
    public const STATE_PLACED = 'placed';
    public const STATE_FAILED = 'failed';

    public const STATES = [self::STATE_PLACING, self::STATE_PLACED, self::STATE_FAILED];

    /** @var array<string, string[]> from => allowed to */
    private const TRANSITIONS = [
        '' => [self::STATE_PLACING],
        self::STATE_PLACING => [self::STATE_PLACED, self::STATE_FAILED, self::STATE_PLACING],
        self::STATE_FAILED => [self::STATE_PLACING],
        self::STATE_PLACED => [],
    ];

    public function __construct(private readonly int $staleAfterSeconds = 600)
    {
        if ($staleAfterSeconds < 60) {
            throw new LogicException('a claim must be allowed at least 60 s before it counts as stale');
        }
    }

    public function staleAfterSeconds(): int
    {
        return $this->staleAfterSeconds;
    }

    public function decide(?ClaimRecord $claim): ClaimDecision
    {
        if ($claim === null) {
            return ClaimDecision::of(ClaimDecision::INSERT);
        }
        switch ($claim->state) {
            case self::STATE_PLACED:
                return $claim->orderId === null
                    ? ClaimDecision::of(ClaimDecision::ORDER_DELETED)
                    : ClaimDecision::of(ClaimDecision::EXISTING, $claim->orderId);
            case self::STATE_FAILED:
                return ClaimDecision::of(ClaimDecision::RETRY);
            case self::STATE_PLACING:
                if ($claim->ageSeconds < $this->staleAfterSeconds) {
                    return ClaimDecision::of(
                        ClaimDecision::IN_PROGRESS,
                        null,
                        max(1, $this->staleAfterSeconds - $claim->ageSeconds)
                    );
                }
                return ClaimDecision::of(ClaimDecision::RECOVER);
        }
        throw new LogicException(sprintf('unknown claim state "%s"', $claim->state));
    }

    /**
     * After RECOVER: $foundOrderId is the order Magento has for the purchase order, if any.
     */
    public function recover(ClaimRecord $claim, ?int $foundOrderId): ClaimDecision
    {
        if ($claim->state !== self::STATE_PLACING) {
            throw new LogicException('only a placing claim is recovered');
        }
        return $foundOrderId !== null
            ? ClaimDecision::of(ClaimDecision::ADOPT, $foundOrderId)
            : ClaimDecision::of(ClaimDecision::TAKE_OVER);
    }

    /**
     * The state a decision moves the claim to before placing or answering.
     */
    public function stateAfter(ClaimDecision $decision): ?string
    {
        return match ($decision->action) {
            ClaimDecision::INSERT, ClaimDecision::RETRY, ClaimDecision::TAKE_OVER => self::STATE_PLACING,
            ClaimDecision::ADOPT => self::STATE_PLACED,
            default => null,
        };
    }

    /**
     * @throws LogicException when the move is not one the diagram above allows
     */
    public function assertTransition(?string $from, string $to): void
    {
        $allowed = self::TRANSITIONS[$from ?? ''] ?? null;
        if ($allowed === null || !in_array($to, $allowed, true)) {
            throw new LogicException(sprintf('a claim cannot go from "%s" to "%s"', $from ?? '(none)', $to));
        }
    }

    public static function newToken(): string
    {
        return bin2hex(random_bytes(16));
    }
}
