<?php
declare(strict_types=1);

namespace WalmartSync\Marketplace\Logic;

use InvalidArgumentException;

/**
 * The request is not a placeable order; errors() lists every problem as "field.path: what is wrong".
 */
final class InvalidOrderRequest extends InvalidArgumentException
{
    /**
     * @param string[] $errors
     */
    public function __construct(private readonly array $errors)
    {
        parent::__construct(implode('; ', $errors));
    }

    /**
     * @return string[]
     */
    public function errors(): array
    {
        return $this->errors;
    }
}
