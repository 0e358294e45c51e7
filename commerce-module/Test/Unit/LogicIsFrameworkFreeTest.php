<?php
declare(strict_types=1);

namespace WalmartSync\Marketplace\Test\Unit;

use PHPUnit\Framework\TestCase;

/**
 * The Magento-independent part stays independent: no Magento class name in its code (comments and
 * strings may cite Magento classes), and every class loads without Magento.
 */
final class LogicIsFrameworkFreeTest extends TestCase
{
    private const PLAIN = ['Logic', 'Api', 'Model/Data', 'Tools'];

    public function testPlainCodeReferencesNoMagentoClass(): void
    {
        $checked = 0;
        foreach (self::PLAIN as $dir) {
            foreach (glob(WALMARTSYNC_MODULE_DIR . "/$dir/*.php") as $file) {
                $code = '';
                foreach (token_get_all((string)file_get_contents($file)) as $token) {
                    if (is_array($token) && in_array($token[0], [T_COMMENT, T_DOC_COMMENT, T_CONSTANT_ENCAPSED_STRING,
                            T_ENCAPSED_AND_WHITESPACE], true)) {
                        continue;
                    }
                    $code .= is_array($token) ? $token[1] : $token;
                }
                self::assertStringNotContainsString('Magento\\', $code, basename($file));
                $checked++;
            }
        }
        self::assertGreaterThan(25, $checked);
    }

    public function testEveryPlainClassLoadsWithoutMagento(): void
    {
        foreach (self::PLAIN as $dir) {
            foreach (glob(WALMARTSYNC_MODULE_DIR . "/$dir/*.php") as $file) {
                $class = 'WalmartSync\\Marketplace\\' . str_replace('/', '\\', $dir) . '\\' . basename($file, '.php');
                self::assertTrue(class_exists($class) || interface_exists($class), $class);
            }
        }
    }
}
