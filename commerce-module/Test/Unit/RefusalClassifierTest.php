<?php
declare(strict_types=1);

namespace WalmartSync\Marketplace\Test\Unit;

use PHPUnit\Framework\TestCase;
use WalmartSync\Marketplace\Logic\Refusal;
use WalmartSync\Marketplace\Logic\RefusalClassifier;
use WalmartSync\Marketplace\Logic\RefusalCode;

final class RefusalClassifierTest extends TestCase
{
    /**
     * What Magento 2.4.6-2.4.8 says, as its REST error body carries it (message + parameters).
     *
     * @return array<string, array{0:string, 1:array<int|string, mixed>, 2:string}>
     */
    public static function magentoSays(): array
    {
        return [
            'MSI 1.2.6/1.2.7 (2.4.6, 2.4.7)' => ['The requested qty is not available', [], RefusalCode::OUT_OF_STOCK],
            'MSI 1.2.8 (2.4.8) default' => ['Not enough items for sale', [], RefusalCode::OUT_OF_STOCK],
            'MSI 1.2.8 (2.4.8) "Only X of Y"' => ['Only 1 of 3 available', [], RefusalCode::OUT_OF_STOCK],
            '2.4.8 core quote message' => ['The requested qty. is not available', [], RefusalCode::OUT_OF_STOCK],
            'no source in stock' => ['There are no source items with the in stock status', [], RefusalCode::OUT_OF_STOCK],
            'legacy inventory' => ['This product is out of stock.', [], RefusalCode::OUT_OF_STOCK],
            'joined by Quote::addProduct' => ["Backorders are disabled\nThe requested qty is not available", [], RefusalCode::OUT_OF_STOCK],
            'not salable' => ['Product that you are trying to add is not available.', [], RefusalCode::PRODUCT_NOT_SALABLE],
            'unknown SKU' => ["The product that was requested doesn't exist. Verify the product and try again.", [], RefusalCode::UNKNOWN_SKU],
            'no such sku entity' => ['No such entity with %fieldName = %fieldValue', ['fieldName' => 'sku', 'fieldValue' => 'X'], RefusalCode::UNKNOWN_SKU],
            'max sale qty' => ['The requested qty exceeds the maximum qty allowed in shopping cart', [], RefusalCode::QTY_NOT_ALLOWED],
            'min sale qty, positional' => ['The fewest you may purchase is %1.', ['2'], RefusalCode::QTY_NOT_ALLOWED],
            'increments' => ['You can buy this product only in quantities of %1 at a time.', ['6'], RefusalCode::QTY_NOT_ALLOWED],
            'configurable parent' => ['You need to choose options for your item.', [], RefusalCode::PRODUCT_OPTIONS_REQUIRED],
            'address' => ['Please check the shipping address information. %1', ['"regionId" is required. Enter and try again.'], RefusalCode::ADDRESS_INVALID],
            'carrier' => ['Carrier with such method not found: %1, %2', ['walmartsync', 'walmart_standard'], RefusalCode::SHIPPING_METHOD_UNAVAILABLE],
            'payment' => ['The requested Payment Method is not available.', [], RefusalCode::PAYMENT_METHOD_UNAVAILABLE],
            '2.4.7+ unknown field' => ['"%fieldName" is not supported. Correct the field name and try again.', ['fieldName' => 'TaxAmount'], RefusalCode::UNSUPPORTED_FIELD],
            '2.4.6 developer mode unknown field' => ['Property "TaxAmount" does not have accessor method "getTaxAmount" in class "Magento\\Quote\\Api\\Data\\CartItemExtensionInterface".', [], RefusalCode::UNSUPPORTED_FIELD],
            'required field' => ['"%fieldName" is required. Enter and try again.', ['fieldName' => 'sku'], RefusalCode::INVALID_REQUEST],
            'anything else' => ['A server error stopped your order from being placed. Please try to place your order again.', [], RefusalCode::COMMERCE_REFUSED],
        ];
    }

    /**
     * @dataProvider magentoSays
     * @param array<int|string, mixed> $parameters
     */
    public function testMessages(string $message, array $parameters, string $code): void
    {
        $refusal = (new RefusalClassifier())->classify($message, $parameters, null, Refusal::PHASE_ADD_ITEM);
        self::assertSame($code, $refusal->code);
        self::assertSame(RefusalClassifier::render($message, $parameters), $refusal->magentoMessage);
        self::assertSame(Refusal::PHASE_ADD_ITEM, $refusal->phase);
    }

    public function testAStockErrorCodeWinsOverATranslatedMessage(): void
    {
        $refusal = (new RefusalClassifier())->classify('Nicht genügend Artikel zum Verkauf', [],
            'is_salable_with_reservations-not_enough_qty');
        self::assertSame(RefusalCode::OUT_OF_STOCK, $refusal->code);
        self::assertSame(RefusalCode::COMMERCE_REFUSED,
            (new RefusalClassifier())->classify('Nicht genügend Artikel zum Verkauf')->code);
        self::assertSame(RefusalCode::QTY_NOT_ALLOWED,
            (new RefusalClassifier())->classify('x', [], 'is_correct_qty-max_sale_qty')->code);
    }

    public function testRenderFillsNamedAndPositionalPlaceholders(): void
    {
        self::assertSame('No such entity with cartId = 5',
            RefusalClassifier::render('No such entity with %fieldName = %fieldValue', ['fieldName' => 'cartId', 'fieldValue' => 5]));
        self::assertSame('a b %3', RefusalClassifier::render('%1 %2 %3', ['a', 'b']));
    }

    public function testEveryPatternIsAValidRegexAndNamesAKnownCode(): void
    {
        foreach (RefusalClassifier::messagePatterns() as $entry) {
            self::assertNotFalse(@preg_match('~' . $entry['pattern'] . '~u', ''), $entry['pattern']);
            self::assertTrue(RefusalCode::exists($entry['code']), $entry['code']);
            self::assertStringStartsWith('^', $entry['pattern'], 'anchored, so Python re.match/re.search agree');
            self::assertNotSame('', $entry['source']);
        }
        foreach (RefusalClassifier::stockErrorCodes() as $entry) {
            self::assertTrue(RefusalCode::exists($entry['code']));
        }
    }

    public function testRefusalParametersAreStringsForMagentosErrorRenderer(): void
    {
        $refusal = (new RefusalClassifier())->classify('Not enough items for sale', [], null, Refusal::PHASE_ADD_ITEM)
            ->withLine('2', 'SKU-BLUE-L');
        $parameters = $refusal->toParameters('PO1');
        self::assertSame([
            'purchase_order_id' => 'PO1',
            'code' => 'OUT_OF_STOCK',
            'reason' => 'Not enough items for sale',
            'phase' => 'add_item',
            'retriable' => 'false',
            'walmart_cancellable' => 'true',
            'line_number' => '2',
            'sku' => 'SKU-BLUE-L',
            'magento_message' => 'Not enough items for sale',
        ], $parameters);
        self::assertSame(400, $refusal->httpStatus());
        self::assertSame('Walmart purchase order PO1 was not placed (OUT_OF_STOCK): Not enough items for sale',
            RefusalClassifier::render(Refusal::messageTemplate(), $parameters));
    }

    public function testCodeMetadata(): void
    {
        self::assertSame(409, RefusalCode::httpStatus(RefusalCode::PLACEMENT_IN_PROGRESS));
        self::assertTrue(RefusalCode::isRetriable(RefusalCode::PLACEMENT_IN_PROGRESS));
        self::assertTrue(RefusalCode::isRetriable(RefusalCode::COMMERCE_ERROR));
        self::assertFalse(RefusalCode::isWalmartCancellable(RefusalCode::UNKNOWN_SKU), 'a mapping problem, as the importer treats it');
        foreach (RefusalCode::all() as $code) {
            self::assertNotSame('', RefusalCode::describe($code));
        }
    }
}
