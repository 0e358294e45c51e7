<?php
declare(strict_types=1);

namespace WalmartSync\Marketplace\Test\Unit;

use WalmartSync\Marketplace\Tools\ContractExamples;

/**
 * A valid marketplace order in the REST contract's shape (the example contract.json publishes).
 */
final class Fixtures
{
    /**
     * @return array<string, mixed>
     */
    public static function order(): array
    {
        return ContractExamples::placeRequest()['order'];
    }
}
