<?php
declare(strict_types=1);

namespace WalmartSync\Marketplace\Logic;

use RuntimeException;
use Throwable;

/**
 * Thrown by the placement when Magento (or a check before it) refused the order.
 *
 * $submitted is true once QuoteManagement::submit() was called: Magento saves the order before it
 * dispatches sales_model_service_quote_submit_success and saves the quote, so an exception from
 * submit() does not prove there is no order. The service then looks for the order before it records
 * the attempt as failed.
 */
final class RefusedPlacement extends RuntimeException
{
    public function __construct(public readonly Refusal $refusal, public readonly bool $submitted = false,
                                ?Throwable $previous = null)
    {
        parent::__construct($refusal->code . ': ' . $refusal->message, 0, $previous);
    }
}
