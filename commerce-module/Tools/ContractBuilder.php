<?php
declare(strict_types=1);

namespace WalmartSync\Marketplace\Tools;

use DOMDocument;
use DOMElement;
use DOMXPath;
use ReflectionClass;
use ReflectionMethod;
use RuntimeException;
use WalmartSync\Marketplace\Logic\ModuleVersion;
use WalmartSync\Marketplace\Logic\Refusal;
use WalmartSync\Marketplace\Logic\RefusalClassifier;
use WalmartSync\Marketplace\Logic\RefusalCode;
use WalmartSync\Marketplace\Logic\ShippingMethodCode;

/**
 * Builds contract.json, the module's REST contract in a form the sidecar (its Commerce REST emulator,
 * its importer, `config check --connect`) reads without PHP:
 *
 * - routes from etc/webapi.xml, field lists from the Api/Data interfaces' getters and setters (the
 *   same reflection Magento's ServiceInputProcessor / ServiceOutputProcessor do), examples;
 * - the extension attributes of etc/extension_attributes.xml (what the stock cart API accepts once the
 *   module is installed) and ACL resources of etc/acl.xml;
 * - refusal codes and Magento's refusal messages (Logic\RefusalCode, Logic\RefusalClassifier);
 * - how Magento 2.4.6-2.4.8 answers a request field it has no setter for.
 *
 * `php commerce-module/bin/contract.php > commerce-module/contract.json` regenerates it;
 * Test/Unit/ContractTest fails when the committed file is stale.
 */
final class ContractBuilder
{
    private const DATA_NAMESPACE = 'WalmartSync\\Marketplace\\Api\\Data\\';

    public function __construct(private readonly string $moduleDir)
    {
    }

    /**
     * @return array<string, mixed>
     */
    public function build(): array
    {
        $routes = $this->routes();
        return [
            'contract_version' => 1,
            'module' => ModuleVersion::MODULE_NAME,
            'version' => ModuleVersion::VERSION,
            'regenerate' => 'php commerce-module/bin/contract.php > commerce-module/contract.json',
            'magento_versions' => '2.4.6 - 2.4.8 (magento/framework 103.0.6 - 103.0.8), Open Source and Adobe Commerce',
            'capabilities' => ModuleVersion::capabilities(),
            'payment_method' => ModuleVersion::PAYMENT_METHOD_CODE,
            'carrier' => [
                'code' => ModuleVersion::CARRIER_CODE,
                'default_method' => ModuleVersion::DEFAULT_METHOD_CODE,
                'method_of_ship_method' => [
                    'Value' => ShippingMethodCode::fromWalmart('Value'),
                    'Standard' => ShippingMethodCode::fromWalmart('Standard'),
                    'Express' => ShippingMethodCode::fromWalmart('Express'),
                    'OneDay' => ShippingMethodCode::fromWalmart('OneDay'),
                    'Freight' => ShippingMethodCode::fromWalmart('Freight'),
                ],
                'rate' => 'the sum of the lines\' shipping_amount (cart flow: shipping_amount); offered only on marketplace quotes',
            ],
            'acl_resources' => $this->aclResources(),
            'routes' => [
                'place' => $routes['POST /V1/walmart-sync/orders'] + [
                    'body_parameter' => 'order',
                    'request' => ['order' => $this->fields(self::DATA_NAMESPACE . 'MarketplaceOrderInterface', true)],
                    'response' => $this->fields(self::DATA_NAMESPACE . 'PlacementResultInterface', false),
                    'request_example' => ContractExamples::placeRequest(),
                    'response_example' => ContractExamples::placeResponse(),
                    'response_example_repeated_call' => ContractExamples::placeResponse(false),
                    'error_examples' => [
                        '400' => ContractExamples::refusalResponse(),
                        '409' => ContractExamples::inProgressResponse(),
                    ],
                ],
                'get' => $routes['GET /V1/walmart-sync/orders/:purchaseOrderId'] + [
                    'path_parameters' => ['purchaseOrderId' => 'string'],
                    'response' => $this->fields(self::DATA_NAMESPACE . 'PlacementResultInterface', false),
                    'not_found' => ['status' => 404, 'message' => 'No placement was requested for Walmart purchase order %1.'],
                ],
                'module' => $routes['GET /V1/walmart-sync/module'] + [
                    'response' => $this->fields(self::DATA_NAMESPACE . 'ModuleStatusInterface', false),
                ],
            ],
            'null_fields_in_responses' => 'omitted (Magento\\Framework\\Reflection\\DataObjectProcessor skips a null value of a nullable getter)',
            'error_body' => [
                'message' => Refusal::messageTemplate(),
                'parameters' => ['purchase_order_id', 'code', 'reason', 'phase', 'retriable', 'walmart_cancellable',
                                 'line_number', 'sku', 'magento_message', 'errors', 'retry_after'],
                'parameter_values' => 'all strings; retriable and walmart_cancellable are "true" or "false"',
            ],
            'refusal_codes' => $this->refusalCodes(),
            'extension_attributes' => $this->extensionAttributes(),
            'cart_flow' => [
                'cartItem.price' => 'POST /V1/carts/:cartId/items: applied as the item\'s custom price (stock Magento recomputes it from the catalogue)',
                'cartItem.extension_attributes.tax_amount' => 'POST /V1/carts/:cartId/items: the item\'s tax (Walmart\'s), instead of Magento\'s tax rules',
                'addressInformation.extension_attributes.shipping_amount' => 'POST /V1/carts/:cartId/shipping-information: the shipping amount, whatever carrier is chosen',
                'addressInformation.extension_attributes.shipping_tax_amount' => 'POST /V1/carts/:cartId/shipping-information: the tax on shipping',
                'who' => 'integration or admin tokens granted WalmartSync_Marketplace::cart_amounts, setting walmart_sync/cart_flow/apply_amounts = 1; other callers\' values are ignored',
            ],
            'magento_messages' => [
                'stock_error_codes' => RefusalClassifier::stockErrorCodes(),
                'message_patterns' => RefusalClassifier::messagePatterns(),
                'match' => 'first pattern (in order) that matches any line of the rendered message (placeholders filled from parameters); stock error codes first when known',
            ],
            'unknown_request_field' => [
                'mechanism' => 'Magento\\Framework\\Webapi\\ServiceInputProcessor::_createFromArray() looks up a getter (get<Field>/is<Field>) and a setter for every key of every object; top-level keys that are not parameters of the service method are ignored',
                '2.4.6' => ['status' => 500, 'message' => 'Internal Error. Details are available in Magento log file. Report ID: webapi-<id>',
                            'developer_mode_message' => 'Property "%1" does not have accessor method "%2" in class "%3".',
                            'source' => 'LogicException from Magento\\Framework\\Reflection\\NameFinder::findAccessorMethodName, masked by Magento\\Framework\\Webapi\\ErrorProcessor::maskException'],
                '2.4.7' => ['status' => 400, 'message' => '"%fieldName" is not supported. Correct the field name and try again.',
                            'parameters' => ['fieldName' => 'the key in UpperCamelCase, e.g. TaxAmount'],
                            'source' => 'InputException from ServiceInputProcessor::processInputErrorForNestedSet (ACSD-51846, fixed in 2.4.7)'],
                '2.4.8' => ['status' => 400, 'message' => '"%fieldName" is not supported. Correct the field name and try again.',
                            'parameters' => ['fieldName' => 'the key in UpperCamelCase, e.g. TaxAmount'],
                            'source' => 'as 2.4.7'],
                'with_setter_but_ignored' => 'cartItem.price has a setter (CartItemInterface::setPrice) so it is accepted, but Quote\\Item\\CartItemPersister adds the product by SKU and the totals collectors price it from the catalogue: without this module the price is silently ignored',
            ],
        ];
    }

    /**
     * @return array<string, array{method:string, path:string, service:string, acl:string}>
     */
    private function routes(): array
    {
        $xpath = $this->xpath('etc/webapi.xml');
        $routes = [];
        foreach ($xpath->query('/routes/route') as $route) {
            /** @var DOMElement $route */
            $service = $xpath->query('service', $route)->item(0);
            $resource = $xpath->query('resources/resource', $route)->item(0);
            if (!$service instanceof DOMElement || !$resource instanceof DOMElement) {
                throw new RuntimeException('a route without service or resource in etc/webapi.xml');
            }
            $key = $route->getAttribute('method') . ' ' . $route->getAttribute('url');
            $routes[$key] = [
                'method' => $route->getAttribute('method'),
                'path' => $route->getAttribute('url'),
                'service' => $service->getAttribute('class') . '::' . $service->getAttribute('method'),
                'acl' => $resource->getAttribute('ref'),
            ];
        }
        return $routes;
    }

    /**
     * @return array<string, string>
     */
    private function aclResources(): array
    {
        $xpath = $this->xpath('etc/acl.xml');
        $resources = [];
        foreach ($xpath->query('//resource[starts-with(@id, "WalmartSync_Marketplace::")]') as $resource) {
            /** @var DOMElement $resource */
            $resources[$resource->getAttribute('id')] = $resource->getAttribute('title');
        }
        return $resources;
    }

    /**
     * @return array<string, array<string, string>>
     */
    public function extensionAttributes(): array
    {
        $xpath = $this->xpath('etc/extension_attributes.xml');
        $result = [];
        foreach ($xpath->query('/config/extension_attributes') as $for) {
            /** @var DOMElement $for */
            foreach ($xpath->query('attribute', $for) as $attribute) {
                /** @var DOMElement $attribute */
                $result[$for->getAttribute('for')][$attribute->getAttribute('code')] = $attribute->getAttribute('type');
            }
        }
        return $result;
    }

    /**
     * @return array<string, array{http_status:int, retriable:bool, walmart_cancellable:bool, meaning:string}>
     */
    private function refusalCodes(): array
    {
        $codes = [];
        foreach (RefusalCode::all() as $code) {
            $codes[$code] = [
                'http_status' => RefusalCode::httpStatus($code),
                'retriable' => RefusalCode::isRetriable($code),
                'walmart_cancellable' => RefusalCode::isWalmartCancellable($code),
                'meaning' => RefusalCode::describe($code),
            ];
        }
        return $codes;
    }

    /**
     * The fields of a data interface as Magento's webapi sees them: one per getter, snake_case, typed
     * by the getter's @return docblock; input fields also need a setter.
     *
     * @return array<string, array<string, mixed>>
     */
    public function fields(string $interface, bool $input): array
    {
        $class = new ReflectionClass($interface);
        $fields = [];
        foreach ($class->getMethods(ReflectionMethod::IS_PUBLIC) as $method) {
            if (!preg_match('/^(get|is)([A-Z]\w*)$/', $method->getName(), $m)) {
                continue;
            }
            if ($input && !$class->hasMethod('set' . $m[2])) {
                continue;
            }
            $doc = (string)$method->getDocComment();
            if (!preg_match('/@return\s+(\S+)/', $doc, $type)) {
                throw new RuntimeException("$interface::{$method->getName()} has no @return type");
            }
            $description = '';
            if (preg_match('/\/\*\*\s*\n\s*\*\s*([^@\n][^\n]*)/', $doc, $d)) {
                $description = trim($d[1]);
            }
            $name = strtolower((string)preg_replace('/(?<!^)[A-Z]/', '_$0', $m[2]));
            $typeName = ltrim($type[1], '\\');
            $field = ['type' => $this->typeName($typeName), 'required' => $input ? !str_contains($typeName, 'null') : null,
                      'description' => $description];
            if ($field['required'] === null) {
                unset($field['required']);
            }
            $base = rtrim(str_replace('|null', '', $typeName), '[]');
            if (str_starts_with($base, self::DATA_NAMESPACE)) {
                $field[str_ends_with($typeName, '[]') ? 'items' : 'fields'] = $this->fields($base, $input);
            }
            $fields[$name] = $field;
        }
        return $fields;
    }

    private function typeName(string $type): string
    {
        $nullable = str_contains($type, '|null');
        $base = str_replace('|null', '', $type);
        if (str_starts_with($base, self::DATA_NAMESPACE)) {
            $base = str_ends_with($base, '[]') ? 'object[]' : 'object';
        }
        return $base . ($nullable ? '|null' : '');
    }

    private function xpath(string $file): DOMXPath
    {
        $dom = new DOMDocument();
        if (!$dom->load($this->moduleDir . '/' . $file)) {
            throw new RuntimeException("$file is not well-formed XML");
        }
        return new DOMXPath($dom);
    }

    public function toJson(): string
    {
        return json_encode($this->build(), JSON_PRETTY_PRINT | JSON_UNESCAPED_SLASHES | JSON_UNESCAPED_UNICODE
                | JSON_PRESERVE_ZERO_FRACTION | JSON_THROW_ON_ERROR) . "\n";
    }
}
