<?php
declare(strict_types=1);

namespace WalmartSync\Marketplace\Logic;

/**
 * Why a marketplace order was not placed: a stable code plus Magento's own words.
 */
final class Refusal
{
    /** Where in the placement Magento refused. */
    public const PHASE_VALIDATION = 'validation';
    public const PHASE_CLAIM = 'claim';
    public const PHASE_PRODUCT = 'product';
    public const PHASE_ADD_ITEM = 'add_item';
    public const PHASE_ADDRESS = 'address';
    public const PHASE_SHIPPING = 'shipping';
    public const PHASE_PAYMENT = 'payment';
    public const PHASE_TOTALS = 'totals';
    public const PHASE_PLACE = 'place';

    /**
     * @param string[] $errors
     */
    public function __construct(
        public readonly string $code,
        public readonly string $message,
        public readonly string $phase,
        public readonly ?string $lineNumber = null,
        public readonly ?string $sku = null,
        public readonly ?string $magentoMessage = null,
        public readonly array $errors = [],
        public readonly int $retryAfterSeconds = 0
    ) {
    }

    public function withLine(?string $lineNumber, ?string $sku): self
    {
        return new self($this->code, $this->message, $this->phase, $lineNumber, $sku, $this->magentoMessage,
            $this->errors, $this->retryAfterSeconds);
    }

    public function httpStatus(): int
    {
        return RefusalCode::httpStatus($this->code);
    }

    /**
     * The REST error's message template; Magento's Webapi renders {"message": template, "parameters": ...}.
     */
    public static function messageTemplate(): string
    {
        return 'Walmart purchase order %purchase_order_id was not placed (%code): %reason';
    }

    /**
     * The REST error's "parameters": every value a string, as Magento's error renderer expects.
     *
     * @return array<string, string>
     */
    public function toParameters(string $purchaseOrderId): array
    {
        $parameters = [
            'purchase_order_id' => $purchaseOrderId,
            'code' => $this->code,
            'reason' => $this->message,
            'phase' => $this->phase,
            'retriable' => RefusalCode::isRetriable($this->code) ? 'true' : 'false',
            'walmart_cancellable' => RefusalCode::isWalmartCancellable($this->code) ? 'true' : 'false',
        ];
        if ($this->lineNumber !== null) {
            $parameters['line_number'] = $this->lineNumber;
        }
        if ($this->sku !== null) {
            $parameters['sku'] = $this->sku;
        }
        if ($this->magentoMessage !== null) {
            $parameters['magento_message'] = $this->magentoMessage;
        }
        if ($this->errors) {
            $parameters['errors'] = implode("\n", $this->errors);
        }
        if ($this->retryAfterSeconds > 0) {
            $parameters['retry_after'] = (string)$this->retryAfterSeconds;
        }
        return $parameters;
    }
}
