//! Quantities as each program reads them: nginx times and sizes, php.ini sizes,
//! php-fpm times. Parsed once into typed values; the raw text stays for messages.
//! Filled in by the units work.
