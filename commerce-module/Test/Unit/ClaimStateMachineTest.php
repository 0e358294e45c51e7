<?php
declare(strict_types=1);

namespace WalmartSync\Marketplace\Test\Unit;

use LogicException;
use PHPUnit\Framework\TestCase;
use WalmartSync\Marketplace\Logic\ClaimDecision;
use WalmartSync\Marketplace\Logic\ClaimRecord;
use WalmartSync\Marketplace\Logic\ClaimStateMachine;

final class ClaimStateMachineTest extends TestCase
{
    private function claim(string $state, int $age = 0, ?int $orderId = null): ClaimRecord
    {
        return new ClaimRecord('PO1', $state, 'token', 1, $age, $orderId);
    }

    public function testDecisions(): void
    {
        $states = new ClaimStateMachine(600);
        self::assertSame(ClaimDecision::INSERT, $states->decide(null)->action);
        self::assertSame(ClaimDecision::RETRY, $states->decide($this->claim('failed'))->action);

        $existing = $states->decide($this->claim('placed', 5, 42));
        self::assertSame([ClaimDecision::EXISTING, 42], [$existing->action, $existing->orderId]);
        self::assertFalse($existing->places());

        self::assertSame(ClaimDecision::ORDER_DELETED, $states->decide($this->claim('placed', 5, null))->action);

        $busy = $states->decide($this->claim('placing', 590));
        self::assertSame([ClaimDecision::IN_PROGRESS, 10], [$busy->action, $busy->retryAfterSeconds]);
        self::assertSame(ClaimDecision::RECOVER, $states->decide($this->claim('placing', 600))->action);
    }

    public function testRecoveryAdoptsAnOrderOrTakesOver(): void
    {
        $states = new ClaimStateMachine(600);
        $stale = $this->claim('placing', 900);
        $adopt = $states->recover($stale, 77);
        self::assertSame([ClaimDecision::ADOPT, 77], [$adopt->action, $adopt->orderId]);
        self::assertSame('placed', $states->stateAfter($adopt));
        $takeOver = $states->recover($stale, null);
        self::assertSame(ClaimDecision::TAKE_OVER, $takeOver->action);
        self::assertTrue($takeOver->places());
        self::assertSame('placing', $states->stateAfter($takeOver));

        $this->expectException(LogicException::class);
        $states->recover($this->claim('placed', 900, 1), 1);
    }

    public function testOnlyTheDrawnTransitionsAreAllowed(): void
    {
        $states = new ClaimStateMachine();
        foreach ([[null, 'placing'], ['placing', 'placed'], ['placing', 'failed'], ['placing', 'placing'],
                  ['failed', 'placing']] as [$from, $to]) {
            $states->assertTransition($from, $to);
        }
        foreach ([[null, 'placed'], ['placed', 'placing'], ['placed', 'failed'], ['failed', 'placed']] as [$from, $to]) {
            try {
                $states->assertTransition($from, $to);
                self::fail("allowed $from -> $to");
            } catch (LogicException $e) {
                self::assertStringContainsString('cannot go from', $e->getMessage());
            }
        }
    }

    public function testAStaleThresholdBelowAMinuteIsRefused(): void
    {
        $this->expectException(LogicException::class);
        new ClaimStateMachine(30);
    }
}
