<?php
declare(strict_types=1);

namespace WalmartSync\Marketplace\Test\Unit;

use DOMDocument;
use DOMElement;
use DOMXPath;
use PHPUnit\Framework\TestCase;
use ReflectionClass;
use WalmartSync\Marketplace\Logic\ModuleVersion;
use WalmartSync\Marketplace\Tools\ContractBuilder;

/**
 * contract.json is what the sidecar reads; these tests keep it, the XML configuration and the PHP
 * interfaces telling the same story.
 */
final class ContractTest extends TestCase
{
    private const DIR = WALMARTSYNC_MODULE_DIR;

    private function xpath(string $file): DOMXPath
    {
        $dom = new DOMDocument();
        self::assertTrue($dom->load(self::DIR . '/' . $file), "$file parses");
        return new DOMXPath($dom);
    }

    /** @return array<string, mixed> */
    private function contract(): array
    {
        return json_decode((string)file_get_contents(self::DIR . '/contract.json'), true, 512, JSON_THROW_ON_ERROR);
    }

    public function testContractJsonIsCurrent(): void
    {
        self::assertSame((new ContractBuilder(self::DIR))->toJson(), file_get_contents(self::DIR . '/contract.json'),
            'contract.json is stale: php commerce-module/bin/contract.php > commerce-module/contract.json');
    }

    public function testEveryXmlFileIsWellFormed(): void
    {
        $files = array_merge(glob(self::DIR . '/etc/*.xml'), glob(self::DIR . '/etc/*/*.xml'),
            [self::DIR . '/phpunit.xml.dist']);
        self::assertGreaterThanOrEqual(12, count($files));
        foreach ($files as $file) {
            $dom = new DOMDocument();
            self::assertTrue(@$dom->load($file), basename($file));
        }
        json_decode((string)file_get_contents(self::DIR . '/etc/db_schema_whitelist.json'), true, 512, JSON_THROW_ON_ERROR);
    }

    public function testModuleIdentityIsConsistent(): void
    {
        $composer = json_decode((string)file_get_contents(self::DIR . '/composer.json'), true, 512, JSON_THROW_ON_ERROR);
        self::assertSame(ModuleVersion::VERSION, $composer['version']);
        self::assertSame('magento2-module', $composer['type']);
        self::assertSame([''], array_values($composer['autoload']['psr-4']));
        self::assertSame(['registration.php'], $composer['autoload']['files']);
        $module = $this->xpath('etc/module.xml')->query('/config/module')->item(0);
        self::assertInstanceOf(DOMElement::class, $module);
        self::assertSame(ModuleVersion::MODULE_NAME, $module->getAttribute('name'));
        self::assertFalse($module->hasAttribute('setup_version'), 'declarative schema only');
        self::assertStringContainsString("'" . ModuleVersion::MODULE_NAME . "'", (string)file_get_contents(self::DIR . '/registration.php'));
        foreach (['Magento_Sales', 'Magento_Quote', 'Magento_Payment', 'Magento_Shipping', 'Magento_Checkout'] as $dependency) {
            self::assertSame(1, $this->xpath('etc/module.xml')->query("//sequence/module[@name='$dependency']")->length, $dependency);
        }
    }

    /**
     * Magento\Framework\Webapi\ServiceInputProcessor::_createFromArray() needs a getter and a setter for
     * every key it is sent; this walks the published request example the same way.
     */
    public function testTheRequestExampleOnlyUsesFieldsMagentoCanSet(): void
    {
        $example = $this->contract()['routes']['place']['request_example'];
        self::assertSame(['order'], array_keys($example), 'body key = parameter name of place()');
        $this->assertSettable('WalmartSync\\Marketplace\\Api\\Data\\MarketplaceOrderInterface', $example['order']);
    }

    /**
     * @param array<string, mixed> $data
     */
    private function assertSettable(string $interface, array $data): void
    {
        $class = new ReflectionClass($interface);
        foreach ($data as $key => $value) {
            $camel = str_replace(' ', '', ucwords(str_replace('_', ' ', (string)$key)));
            self::assertTrue($class->hasMethod("get$camel") || $class->hasMethod("is$camel"), "$interface has no getter for $key");
            self::assertTrue($class->hasMethod("set$camel"), "$interface has no setter for $key");
            preg_match('/@return\s+\\\\?(\S+)/', (string)$class->getMethod($class->hasMethod("get$camel") ? "get$camel" : "is$camel")->getDocComment(), $m);
            $type = str_replace('|null', '', $m[1]);
            if (str_starts_with($type, 'WalmartSync\\') && is_array($value)) {
                if (str_ends_with($type, '[]')) {
                    foreach ($value as $item) {
                        $this->assertSettable(substr($type, 0, -2), $item);
                    }
                } else {
                    $this->assertSettable($type, $value);
                }
            }
        }
    }

    public function testTheResponseExampleMatchesTheResultGetters(): void
    {
        $route = $this->contract()['routes']['place'];
        self::assertSame([], array_diff(array_keys($route['response_example']), array_keys($route['response'])));
        self::assertSame([], array_diff(array_keys($route['response_example']['lines'][0]),
            array_keys($route['response']['lines']['items'])));
    }

    public function testRoutesNameExistingServiceMethodsAndAclResources(): void
    {
        $webapi = $this->xpath('etc/webapi.xml');
        $acl = $this->xpath('etc/acl.xml');
        $routes = $webapi->query('/routes/route');
        self::assertSame(3, $routes->length);
        foreach ($routes as $route) {
            /** @var DOMElement $route */
            /** @var DOMElement $service */
            $service = $webapi->query('service', $route)->item(0);
            $method = (new ReflectionClass($service->getAttribute('class')))->getMethod($service->getAttribute('method'));
            $parameters = array_map(static fn ($p) => $p->getName(), $method->getParameters());
            preg_match_all('/:(\w+)/', $route->getAttribute('url'), $pathParameters);
            self::assertSame([], array_diff($pathParameters[1], $parameters), $route->getAttribute('url'));
            self::assertMatchesRegularExpression('/@return\s+\\\\WalmartSync\\\\Marketplace\\\\Api\\\\Data\\\\\w+Interface/',
                (string)$method->getDocComment(), 'webapi needs a typed @return');
            foreach ($webapi->query('resources/resource', $route) as $resource) {
                /** @var DOMElement $resource */
                $ref = $resource->getAttribute('ref');
                self::assertSame(1, $acl->query("//resource[@id='$ref']")->length, "ACL resource $ref");
            }
        }
    }

    public function testTheCartFlowFieldsAreDeclaredExtensionAttributes(): void
    {
        $declared = (new ContractBuilder(self::DIR))->extensionAttributes();
        self::assertSame(['tax_amount' => 'float'], $declared['Magento\\Quote\\Api\\Data\\CartItemInterface']);
        self::assertSame(['shipping_amount' => 'float', 'shipping_tax_amount' => 'float'],
            $declared['Magento\\Checkout\\Api\\Data\\ShippingInformationInterface']);
        foreach (array_keys($this->contract()['cart_flow']) as $field) {
            if (preg_match('/extension_attributes\.(\w+)$/', $field, $m)) {
                self::assertTrue(in_array($m[1], array_merge(...array_map('array_keys', array_values($declared))), true), $field);
            }
        }
    }

    public function testTheWhitelistCoversTheDeclaredSchema(): void
    {
        $schema = $this->xpath('etc/db_schema.xml');
        $whitelist = json_decode((string)file_get_contents(self::DIR . '/etc/db_schema_whitelist.json'), true);
        foreach ($schema->query('/schema/table') as $table) {
            /** @var DOMElement $table */
            $name = $table->getAttribute('name');
            foreach ($schema->query('column', $table) as $column) {
                /** @var DOMElement $column */
                self::assertTrue($whitelist[$name]['column'][$column->getAttribute('name')] ?? false, "$name." . $column->getAttribute('name'));
            }
            foreach ($schema->query('index', $table) as $index) {
                /** @var DOMElement $index */
                self::assertTrue($whitelist[$name]['index'][$index->getAttribute('referenceId')] ?? false);
            }
            foreach ($schema->query('constraint', $table) as $constraint) {
                /** @var DOMElement $constraint */
                $id = $constraint->getAttribute('referenceId');
                self::assertTrue($whitelist[$name]['constraint'][$id] ?? false, $id);
                self::assertLessThanOrEqual(64, strlen($id), "$id fits a MySQL identifier, so Magento keeps the name");
            }
        }
    }

    public function testConfiguredClassesExist(): void
    {
        $classes = [];
        $di = $this->xpath('etc/di.xml');
        foreach ($di->query('//preference') as $preference) {
            /** @var DOMElement $preference */
            $classes[] = $preference->getAttribute('type');
        }
        foreach (['etc/di.xml', 'etc/webapi_rest/di.xml'] as $file) {
            foreach ($this->xpath($file)->query('//plugin') as $plugin) {
                /** @var DOMElement $plugin */
                $classes[] = $plugin->getAttribute('type');
            }
        }
        foreach ($this->xpath('etc/events.xml')->query('//observer') as $observer) {
            /** @var DOMElement $observer */
            $classes[] = $observer->getAttribute('instance');
        }
        foreach ($this->xpath('etc/sales.xml')->query('//item') as $item) {
            /** @var DOMElement $item */
            $classes[] = $item->getAttribute('instance');
        }
        $config = $this->xpath('etc/config.xml');
        $classes[] = $config->query('//carriers/walmartsync/model')->item(0)->textContent;
        foreach ($classes as $class) {
            self::assertStringStartsWith('WalmartSync\\Marketplace\\', $class);
            $file = self::DIR . '/' . str_replace('\\', '/', substr($class, strlen('WalmartSync\\Marketplace\\'))) . '.php';
            self::assertFileExists($file, $class);
        }

        $facade = $config->query('//payment/walmartsync_marketplace/model')->item(0)->textContent;
        self::assertSame(1, $di->query("//virtualType[@name='$facade' and @type='Magento\\Payment\\Model\\Method\\Adapter']")->length);
        self::assertSame(ModuleVersion::PAYMENT_METHOD_CODE,
            $di->query("//virtualType[@name='$facade']/arguments/argument[@name='code']")->item(0)->textContent);
        self::assertSame(1, $config->query('//carriers/' . ModuleVersion::CARRIER_CODE)->length);
    }
}
