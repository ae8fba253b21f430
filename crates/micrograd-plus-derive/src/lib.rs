//! `#[derive(Module)]` for MicroGrad+ (re-exported as `micrograd_plus::nn::Module`;
//! use it from there).
//!
//! The derive writes the bookkeeping half of the `Module` trait from a
//! struct's fields, so a custom model is a struct plus an inherent `forward`:
//!
//! - every field is handed to the `ModuleField` trait, which registers
//!   modules (their parameters under `field.name`), parameter tensors
//!   (`field`), and containers of them (`Vec`: `field.0.name`, `Option`:
//!   only when `Some`, arrays like `Vec`); plain settings (numbers, `bool`,
//!   `String`) register nothing;
//! - `#[module(buffer)]` on a `Tensor` field makes it a buffer (saved, not
//!   trained), `#[module(skip)]` leaves a field out entirely;
//! - a `training: bool` field, if there is one, holds the train/eval flag
//!   (otherwise the struct is training unless a module field is not);
//! - the trait's `forward` calls the struct's inherent `forward`.
//!
//! Nothing here knows types: which fields are layers is decided by the trait
//! implementations in `micrograd_plus::nn::field`, so the rules live in one
//! place, with their tests, in the library.

use proc_macro::TokenStream;
use proc_macro2::TokenStream as Tokens;
use quote::{quote, quote_spanned};
use syn::{parse_macro_input, spanned::Spanned, Data, DeriveInput, Fields, Type};

/// Implements `micrograd_plus::nn::Module` for a struct from its fields.
/// See `micrograd_plus::nn::field` for the rules and an example.
#[proc_macro_derive(Module, attributes(module))]
pub fn derive_module(input: TokenStream) -> TokenStream {
    let input = parse_macro_input!(input as DeriveInput);
    expand(&input)
        .unwrap_or_else(syn::Error::into_compile_error)
        .into()
}

/// What a field is to the module, from its `#[module(...)]` attribute.
#[derive(PartialEq)]
enum Role {
    /// Registered through `ModuleField` (the default).
    Field,
    /// A `Tensor` saved with the model but not trained.
    Buffer,
    /// Left out: not visited, not switched, not printed.
    Skip,
}

fn role(field: &syn::Field) -> syn::Result<Role> {
    let mut role = Role::Field;
    for attr in field.attrs.iter().filter(|a| a.path().is_ident("module")) {
        attr.parse_nested_meta(|meta| {
            if meta.path.is_ident("skip") {
                role = Role::Skip;
                Ok(())
            } else if meta.path.is_ident("buffer") {
                role = Role::Buffer;
                Ok(())
            } else {
                Err(meta.error("expected `#[module(skip)]` or `#[module(buffer)]`"))
            }
        })?;
    }
    Ok(role)
}

fn is_bool(ty: &Type) -> bool {
    matches!(ty, Type::Path(p) if p.path.is_ident("bool"))
}

fn expand(input: &DeriveInput) -> syn::Result<Tokens> {
    let Data::Struct(data) = &input.data else {
        return Err(syn::Error::new(
            input.span(),
            "#[derive(Module)] works on structs: their fields are the layers and parameters",
        ));
    };
    let krate = quote!(::micrograd_plus);
    let field_trait = quote!(#krate::nn::field::ModuleField);
    let name = &input.ident;
    let type_name = name.to_string();

    let mut visit_parameters = Vec::new();
    let mut visit_buffers = Vec::new();
    let mut set_training = Vec::new();
    let mut training_of_children = Vec::new();
    let mut describe = Vec::new();
    let mut bounds = Vec::new();
    let mut training_flag = None;

    let fields: Vec<(String, Tokens, &syn::Field)> = match &data.fields {
        Fields::Named(named) => named
            .named
            .iter()
            .map(|f| {
                let ident = f.ident.as_ref().expect("named field");
                (ident.to_string(), quote!(#ident), f)
            })
            .collect(),
        Fields::Unnamed(unnamed) => unnamed
            .unnamed
            .iter()
            .enumerate()
            .map(|(i, f)| {
                let index = syn::Index::from(i);
                (i.to_string(), quote!(#index), f)
            })
            .collect(),
        Fields::Unit => Vec::new(),
    };

    for (label, access, field) in &fields {
        let ty = &field.ty;
        if label == "training" && is_bool(ty) {
            training_flag = Some(access.clone());
            continue;
        }
        match role(field)? {
            Role::Skip => {}
            // A buffer must be a `Tensor`: `f` takes `&Tensor`, so anything
            // else fails to compile here.
            Role::Buffer => visit_buffers.push(quote!(f(#label, &self.#access);)),
            Role::Field => {
                // Spanned at the field's type, so a type that is not a module
                // is reported there rather than at the derive.
                let span = ty.span();
                visit_parameters.push(
                    quote_spanned!(span=> #field_trait::visit_parameters(&self.#access, #label, f);),
                );
                visit_buffers.push(
                    quote_spanned!(span=> #field_trait::visit_buffers(&self.#access, #label, f);),
                );
                set_training.push(
                    quote_spanned!(span=> #field_trait::set_training(&mut self.#access, training);),
                );
                training_of_children
                    .push(quote_spanned!(span=> && #field_trait::is_training(&self.#access)));
                describe.push(
                    quote_spanned!(span=> #field_trait::describe(&self.#access, #label, &mut lines);),
                );
                bounds.push(quote!(#ty: #field_trait));
            }
        }
    }

    let (set_flag, read_flag) = match &training_flag {
        Some(access) => (quote!(self.#access = training;), quote!(self.#access)),
        None => (quote!(), quote!(true #(#training_of_children)*)),
    };

    // The struct's own (inherent) `forward`, which takes precedence over this
    // trait method in path resolution. Without one, the call would resolve
    // to this very method: spanned at the struct's name so that the denied
    // recursion lint reports it in the user's code instead of staying silent
    // inside the macro.
    let forward = quote_spanned! {name.span()=>
        #[deny(unconditional_recursion)]
        fn forward(&self, input: &#krate::Tensor) -> #krate::Result<#krate::Tensor> {
            #name::forward(self, input)
        }
    };

    let (impl_generics, ty_generics, where_clause) = input.generics.split_for_impl();
    // Generic fields need the bound spelled out; concrete ones are checked anyway.
    let where_clause = if input.generics.params.is_empty() {
        quote!(#where_clause)
    } else {
        let existing = where_clause.map(|w| &w.predicates);
        quote!(where #existing #(#bounds,)*)
    };

    Ok(quote! {
        impl #impl_generics #krate::nn::Module for #name #ty_generics #where_clause {
            #forward


            fn visit_parameters(&self, f: &mut #krate::nn::Visitor<'_>) {
                let _ = &f;
                #(#visit_parameters)*
            }

            fn visit_buffers(&self, f: &mut #krate::nn::Visitor<'_>) {
                let _ = &f;
                #(#visit_buffers)*
            }

            fn set_training(&mut self, training: bool) {
                let _ = training;
                #set_flag
                #(#set_training)*
            }

            fn is_training(&self) -> bool {
                #read_flag
            }

            fn describe(&self) -> ::std::string::String {
                let mut lines: ::std::vec::Vec<::std::string::String> = ::std::vec::Vec::new();
                #(#describe)*
                #krate::nn::field::describe_struct(#type_name, &lines)
            }
        }
    })
}
