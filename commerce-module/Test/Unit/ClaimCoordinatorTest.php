<?php
declare(strict_types=1);

namespace WalmartSync\Marketplace\Test\Unit;

use PHPUnit\Framework\TestCase;
use WalmartSync\Marketplace\Logic\ClaimCoordinator;
use WalmartSync\Marketplace\Logic\ClaimOutcome;
use WalmartSync\Marketplace\Logic\ClaimRecord;
use WalmartSync\Marketplace\Logic\ClaimStateMachine;
use WalmartSync\Marketplace\Test\Unit\Fake\InMemoryClaimStore;

/**
 * The idempotency protocol end to end against an in-memory claim table: retries, races, crashes.
 */
final class ClaimCoordinatorTest extends TestCase
{
    private InMemoryClaimStore $store;
    private ClaimCoordinator $claims;
    /** @var int[] orders "Magento" has, by purchase order */
    private array $orders = [];

    protected function setUp(): void
    {
        $this->store = new InMemoryClaimStore();
        $this->claims = new ClaimCoordinator($this->store, new ClaimStateMachine(600));
    }

    private function begin(string $hash = 'h1'): ClaimOutcome
    {
        return $this->claims->begin('PO1', $hash, fn (ClaimRecord $c): ?int => $this->orders[$c->purchaseOrderId] ?? null);
    }

    public function testARetryAfterSuccessAnswersWithTheSameOrder(): void
    {
        $first = $this->begin();
        self::assertTrue($first->placeNow());
        self::assertSame(1, $first->attempts);
        self::assertTrue($this->store->markPlaced('PO1', (string)$first->token, 501, '000000501', '[]'));

        $again = $this->begin();
        self::assertSame([ClaimOutcome::EXISTING, 501, true, false],
            [$again->kind, $again->orderId, $again->sameRequest, $again->adopted]);

        $changed = $this->begin('h2');
        self::assertSame([ClaimOutcome::EXISTING, false], [$changed->kind, $changed->sameRequest],
            'Walmart changed the order since: still the same order, flagged');
    }

    public function testAConcurrentCallIsToldPlacementIsInProgress(): void
    {
        // B's INSERT lands between A's read and A's INSERT: A loses the unique key and reads again.
        $this->store->afterFind = function (): void {
            self::assertTrue($this->begin()->placeNow(), 'B claims first');
        };
        $a = $this->begin();
        self::assertSame(ClaimOutcome::IN_PROGRESS, $a->kind);
        self::assertSame(600, $a->retryAfterSeconds);
        self::assertCount(1, $this->store->rows);
    }

    public function testAFailedPlacementMayBeRetried(): void
    {
        $first = $this->begin();
        self::assertTrue($this->store->markFailed('PO1', (string)$first->token, 'OUT_OF_STOCK', 'The requested qty is not available'));
        $retry = $this->begin();
        self::assertTrue($retry->placeNow());
        self::assertSame(2, $retry->attempts);
        self::assertNull($this->store->rows['PO1']['refusal_code'], 'the old refusal is cleared');
        self::assertFalse($this->store->markPlaced('PO1', (string)$first->token, 1, '1', '[]'),
            "the first attempt's token is dead");
    }

    public function testACrashAfterMagentoPlacedTheOrderIsRecoveredNotPlacedTwice(): void
    {
        $first = $this->begin();
        $this->store->recordQuote('PO1', (string)$first->token, 900, '[{"line_number":"1","sku":"A","qty":1,"quote_item_id":7,"order_item_id":null}]');
        $this->orders['PO1'] = 501; // Magento placed it, then PHP died before markPlaced()

        self::assertSame(ClaimOutcome::IN_PROGRESS, $this->begin()->kind, 'not stale yet');
        $this->store->age('PO1', 600);
        $recovered = $this->begin();
        self::assertSame([ClaimOutcome::EXISTING, 501, true], [$recovered->kind, $recovered->orderId, $recovered->adopted]);
        self::assertSame('placed', $this->store->rows['PO1']['state']);
        self::assertStringContainsString('"quote_item_id":7', (string)$this->store->lineMap('PO1'));
    }

    public function testACrashBeforeMagentoPlacedAnythingIsTakenOver(): void
    {
        $first = $this->begin();
        $this->store->age('PO1', 3600);
        $second = $this->begin();
        self::assertTrue($second->placeNow());
        self::assertSame(2, $second->attempts);
        self::assertFalse($this->store->markPlaced('PO1', (string)$first->token, 1, '1', '[]'),
            'a slow first call that wakes up cannot record over the new claim');
    }

    public function testAPlacedOrderThatWasDeletedIsNeverPlacedAgain(): void
    {
        $first = $this->begin();
        $this->store->markPlaced('PO1', (string)$first->token, 501, '000000501', '[]');
        $this->store->rows['PO1']['order_id'] = null; // ON DELETE SET NULL
        self::assertSame(ClaimOutcome::ORDER_DELETED, $this->begin()->kind);
    }
}
